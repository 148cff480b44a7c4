package spdkrpc

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeReq is one request as the fake SPDK received it.
type fakeReq struct {
	Raw    []byte // the request value exactly as read
	ID     json.RawMessage
	Method string
	Params json.RawMessage
}

// fakeReply tells the fake what to do with one request.
type fakeReply struct {
	Result  any
	Err     *Error
	Delay   time.Duration   // reply after this long, on its own goroutine
	Wait    <-chan struct{} // reply once this is closed
	NoReply bool            // never reply
	Raw     string          // write these bytes instead of a reply
	Close   bool            // close the connection instead of replying
	Last    bool            // reply, then close the connection
}

// fakeSPDK is a minimal SPDK-framed server over a real Unix socket: it reads
// concatenated JSON values, answers one compact line per reply (in
// completion order when replies are delayed) and closes the connection on
// bytes that are not JSON. Unlike spdkserver it can send any bytes at all,
// which the tests of bad replies need.
type fakeSPDK struct {
	t       testing.TB
	path    string
	ln      net.Listener
	version string
	handle  func(r fakeReq) fakeReply
	mute    bool // answer nothing at all (a hung SPDK)

	mu      sync.Mutex // protects the fields below
	methods []string   // answer of rpc_get_methods; nil: answer "Method not found"
	reqs    []fakeReq
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
}

// shortDir returns a directory whose paths fit a Unix socket address.
func shortDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "spdkrpc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func newFake(t testing.TB, handle func(fakeReq) fakeReply) *fakeSPDK {
	f := &fakeSPDK{t: t, path: filepath.Join(shortDir(t), "spdk.sock"), version: "SPDK v26.05 fake", handle: handle}
	f.methods = []string{"spdk_get_version", "rpc_get_methods"}
	return f
}

// setMethods sets the answer of rpc_get_methods; nil makes it fail.
func (f *fakeSPDK) setMethods(m []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.methods = m
}

// addMethods adds to the answer of rpc_get_methods.
func (f *fakeSPDK) addMethods(m ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.methods = append(f.methods, m...)
}

// start listens at f.path; the fake stops at the end of the test.
func (f *fakeSPDK) start() *fakeSPDK {
	ln, err := net.Listen("unix", f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.ln = ln
	f.conns = map[net.Conn]bool{}
	f.mu.Unlock()
	f.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns[nc] = true
			f.mu.Unlock()
			f.wg.Go(func() { f.serve(nc) })
		}
	})
	f.t.Cleanup(f.stop)
	return f
}

// stop closes the listener and every connection and waits for them.
func (f *fakeSPDK) stop() {
	f.mu.Lock()
	if f.ln != nil {
		f.ln.Close()
	}
	for nc := range f.conns {
		nc.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// dropConns closes every connection (a crash), keeping the listener.
func (f *fakeSPDK) dropConns() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for nc := range f.conns {
		nc.Close()
	}
}

func (f *fakeSPDK) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.reqs...)
}

// requestsFor returns the requests received for method.
func (f *fakeSPDK) requestsFor(method string) []fakeReq {
	var out []fakeReq
	for _, r := range f.requests() {
		if r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeSPDK) serve(nc net.Conn) {
	defer func() {
		nc.Close()
		f.mu.Lock()
		delete(f.conns, nc)
		f.mu.Unlock()
	}()
	var wmu sync.Mutex
	write := func(b []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		_, _ = nc.Write(b)
	}
	dec := json.NewDecoder(nc)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return // EOF, or bytes that are not JSON: SPDK closes without a reply
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		_ = json.Unmarshal(raw, &msg)
		r := fakeReq{Raw: append([]byte(nil), raw...), ID: msg.ID, Method: msg.Method, Params: msg.Params}
		f.mu.Lock()
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		rep := f.reply(r)
		switch {
		case rep.Delay > 0 || rep.Wait != nil:
			f.wg.Go(func() {
				if rep.Wait != nil {
					<-rep.Wait
				}
				time.Sleep(rep.Delay)
				write(encodeReply(r.ID, rep))
			})
		case rep.Close:
			return
		case rep.Last:
			write(encodeReply(r.ID, rep))
			return
		case rep.Raw != "":
			write([]byte(rep.Raw))
		case rep.NoReply:
		default:
			write(encodeReply(r.ID, rep))
		}
	}
}

func (f *fakeSPDK) reply(r fakeReq) fakeReply {
	if f.mute {
		return fakeReply{NoReply: true}
	}
	if r.Method == "spdk_get_version" && r.Params != nil {
		return fakeReply{Err: &Error{Code: CodeInvalidParams, Message: "spdk_get_version method requires no parameters"}}
	}
	switch r.Method {
	case "spdk_get_version":
		return fakeReply{Result: VersionInfo{Version: f.version, Fields: VersionFields{Major: 26, Minor: 5}}}
	case "rpc_get_methods":
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.methods == nil {
			return fakeReply{Err: &Error{Code: CodeMethodNotFound, Message: "Method not found"}}
		}
		return fakeReply{Result: append([]string(nil), f.methods...)}
	}
	if f.handle == nil {
		return fakeReply{Err: &Error{Code: CodeMethodNotFound, Message: "Method not found"}}
	}
	return f.handle(r)
}

func encodeReply(id json.RawMessage, rep fakeReply) []byte {
	m := map[string]any{"jsonrpc": "2.0", "id": id}
	if rep.Err != nil {
		m["error"] = rep.Err
	} else {
		m["result"] = rep.Result
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// newTestClient connects to f and, at the end of the test, closes the client
// and checks that none of its goroutines is left.
func newTestClient(t testing.TB, f *fakeSPDK, opts Options) *Client {
	t.Helper()
	c := New(f.path, opts)
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkNoLeaks(t)
	})
	return c
}

// checkNoLeaks fails when a goroutine of the client or of jrpc2 outlives
// Close. jrpc2 ends its per-call watchers right after Close, so allow a
// moment for them.
func checkNoLeaks(t testing.TB) {
	t.Helper()
	var stacks string
	for range 100 {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		leaked := false
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "creachadair/jrpc2") || strings.Contains(g, "spdkrpc.(*Client)") ||
				strings.Contains(g, "spdkrpc.(*spdkChannel)") || strings.Contains(g, "spdkrpc.(*replyDecoder)") {
				leaked = true
			}
		}
		if !leaked {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("goroutines left after Close:\n%s", stacks)
}

func mustRemove(t testing.TB, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
