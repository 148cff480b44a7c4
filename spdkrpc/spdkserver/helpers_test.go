package spdkserver_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// versionResult is spdk_get_version's answer as recorded.
const versionResult = `{"version":"SPDK v26.05 git sha1 d519b163cb","fields":{"major":26,"minor":5,"patch":0,"suffix":"","commit":"d519b163cb"}}`

const lvstoresResult = `[{"uuid":"800da8bc-906e-491c-b27d-26686b407e9b","name":"lvs0","base_bdev":"Malloc0","total_data_clusters":63,"free_clusters":47,"block_size":4096,"cluster_size":4194304,"max_growable_size":137271181312}]`

// isAsync marks the methods that complete through blobstore metadata I/O.
func isAsync(method string) bool {
	return method == "bdev_lvol_create" || method == "bdev_lvol_snapshot" || method == "async" ||
		method == "asyncbad"
}

// testHandler answers the methods the recordings use with their recorded
// shapes, plus a few that exercise the server:
//
//	echo   answers its params
//	sleep  answers {"ms":N} after N ms, from another goroutine
//	async  like echo, but listed by isAsync
//	asyncbad  listed by isAsync, but fails at once through Immediate
//	peer   answers the caller's credentials
//	crash  replies ErrCrash; hang replies ErrNoReply; panic panics
//	ctx    answers when the request's context ends, by sending on ctxDone
type testHandler struct {
	ctxDone chan error
	calls   atomic.Int64 // every call, notifications included
}

func (h *testHandler) ServeRPC(ctx context.Context, req *spdkserver.Request, reply spdkserver.ReplyFunc) {
	h.calls.Add(1)
	switch req.Method {
	case "spdk_get_version":
		if req.Params != nil {
			reply(nil, &spdkrpc.Error{Code: spdkrpc.CodeInvalidParams, Message: "spdk_get_version method requires no parameters"})
			return
		}
		reply(json.RawMessage(versionResult), nil)
	case "bdev_lvol_get_lvstores":
		reply(json.RawMessage(lvstoresResult), nil)
	case "bdev_lvol_create", "bdev_lvol_snapshot":
		reply(newUUID(), nil)
	case "bdev_lvol_delete":
		reply(nil, &spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: "spdk_json_decode_object failed"})
	case "bdev_get_bdevs":
		reply(nil, &spdkrpc.Error{Code: -19, Message: "No such device"})
	case "echo", "async":
		reply(req.Params, nil)
	case "asyncbad":
		reply(nil, spdkserver.Immediate(&spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: "spdk_json_decode_object failed"}))
	case "sleep":
		var p struct{ MS int }
		if err := json.Unmarshal(req.Params, &p); err != nil {
			reply(nil, &spdkrpc.Error{Code: spdkrpc.CodeInvalidParams, Message: err.Error()})
			return
		}
		go func() {
			select {
			case <-time.After(time.Duration(p.MS) * time.Millisecond):
				reply(p.MS, nil)
			case <-ctx.Done():
				reply(nil, ctx.Err())
			}
		}()
	case "peer":
		reply(req.Peer, nil)
	case "crash":
		reply(nil, spdkserver.ErrCrash)
	case "hang":
		reply(nil, spdkserver.ErrNoReply)
	case "panic":
		panic("handler bug")
	case "ctx":
		go func() {
			<-ctx.Done()
			h.ctxDone <- ctx.Err()
			reply(nil, ctx.Err())
		}()
	default:
		reply(nil, &spdkrpc.Error{Code: spdkrpc.CodeMethodNotFound, Message: "Method not found"})
	}
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// fixture is a server on a fresh socket.
type fixture struct {
	srv     *spdkserver.Server
	path    string
	h       *testHandler
	serveCh chan error
}

// socketDir returns a short directory: t.TempDir() can exceed the 108
// bytes a Unix socket path may have.
func socketDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "sk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startServer(t testing.TB, opts spdkserver.Options) *fixture {
	t.Helper()
	if opts.Async == nil {
		opts.Async = isAsync
	}
	h := &testHandler{ctxDone: make(chan error, 16)}
	f := &fixture{
		srv:     spdkserver.New(h, opts),
		path:    filepath.Join(socketDir(t), "s.sock"),
		h:       h,
		serveCh: make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { f.serveCh <- f.srv.ListenAndServe(ctx, f.path, 0o600) }()
	waitFor(t, func() bool {
		c, err := net.Dial("unix", f.path)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	t.Cleanup(func() {
		cancel()
		f.srv.Close()
	})
	return f
}

func (f *fixture) dial(t testing.TB) *net.UnixConn {
	t.Helper()
	c, err := net.Dial("unix", f.path)
	if err != nil {
		t.Fatalf("dial %s: %v", f.path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UnixConn)
}

// checkServing makes one call on a new connection.
func (f *fixture) checkServing(t testing.TB) {
	t.Helper()
	c := f.dial(t)
	send(t, c, call(1, "echo"))
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":1,"result":null}`; got != want {
		t.Errorf("answer %s, want %s", got, want)
	}
	c.Close()
}

// waitFor polls cond for up to five seconds.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}

// readN reads exactly n bytes or fails after timeout.
func readN(t testing.TB, c net.Conn, n int, timeout time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	if got, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: got %d (%q): %v", n, got, buf[:got], err)
	}
	return buf
}

// readLine reads one answer line.
func readLine(t testing.TB, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var out []byte
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("read line after %q: %v", out, err)
		}
		if b[0] == '\n' {
			return string(out)
		}
		out = append(out, b[0])
	}
}

// probe reads for d and reports what arrived and whether the server
// closed the connection.
func probe(c net.Conn, d time.Duration) (extra []byte, closed bool) {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		extra = append(extra, buf[:n]...)
		if err != nil {
			var ne net.Error
			return extra, !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

func send(t testing.TB, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

func call(id int, method string) string {
	return `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"` + method + `"}`
}

// checkNoLeak fails when goroutines started during the test outlive it.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var now int
		for range 200 {
			if now = runtime.NumGoroutine(); now <= before {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("goroutines: %d before, %d after\n%s", before, now, buf)
	})
}
