package spdkserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

func TestServer_completionOrder(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	send(t, c, `{"id":1,"method":"sleep","params":{"ms":100}}`+call(2, "echo"))
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":2,"result":null}`; got != want {
		t.Errorf("first answer %s, want %s", got, want)
	}
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":1,"result":100}`; got != want {
		t.Errorf("second answer %s, want %s", got, want)
	}
}

func TestServer_notifications(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	send(t, c, `{"method":"echo"}{"id":null,"method":"nope"}{"method":"bdev_lvol_delete","params":"x"}`+call(1, "echo"))
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":1,"result":null}`; got != want {
		t.Errorf("answer %s, want %s", got, want)
	}
	// The params check refuses the third before any handler sees it.
	if n := f.h.calls.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3", n)
	}
}

func TestServer_batches(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	tests := []struct {
		name, req, want string
	}{
		{"completion order inside", `[{"id":1,"method":"sleep","params":{"ms":30}},{"id":2,"method":"nope"},{"method":"echo"}]`,
			`[{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"Method not found"}},{"jsonrpc":"2.0","id":1,"result":30}]`},
		{"invalid members", `[{"id":{},"method":"echo"}, 7]`,
			`[{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}]`},
		{"only notifications", `[{"method":"echo"},{"method":"echo","id":null}]`, ""},
		{"a member hangs", `[{"id":1,"method":"echo"},{"id":2,"method":"hang"}]`, ""},
		{"empty", `[ ]`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.dial(t)
			send(t, c, tt.req)
			if tt.want != "" {
				if got := readLine(t, c); got != tt.want {
					t.Errorf("got  %s\nwant %s", got, tt.want)
				}
			}
			// A request after the batch shows that nothing else was sent.
			send(t, c, call(99, "echo"))
			if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":99,"result":null}`; got != want {
				t.Errorf("next answer %s, want %s", got, want)
			}
		})
	}
}

// TestServer_garbageAtEveryPosition inserts a byte that is JSON nowhere
// (a control character) at every position of a two-request stream: the
// connection must close without any answer.
func TestServer_garbageAtEveryPosition(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	stream := `{"id":1,"method":"echo","params":{"a":[1,"x",true]}} ` + call(2, "echo")
	for i := 0; i <= len(stream); i++ {
		bad := stream[:i] + "\x01" + stream[i:]
		c := f.dial(t)
		send(t, c, bad)
		extra, closed := probe(c, 5*time.Second)
		if len(extra) > 0 || !closed {
			t.Errorf("%q: received %q, closed %v; want nothing and closed", bad, extra, closed)
		}
		c.Close()
	}
}

// TestServer_splitWrites sends a stream one byte per write.
func TestServer_splitWrites(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	stream := " \n" + `{"id":"a","method":"echo","params":{"s":"\u00e9\"}"}}` + "\t" + `[{"id":2.50,"method":"echo"}]`
	for i := range len(stream) {
		send(t, c, stream[i:i+1])
		time.Sleep(100 * time.Microsecond)
	}
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":"a","result":{"s":"\u00e9\"}"}}`; got != want {
		t.Errorf("first answer %s, want %s", got, want)
	}
	if got, want := readLine(t, c), `[{"jsonrpc":"2.0","id":2.50,"result":null}]`; got != want {
		t.Errorf("second answer %s, want %s", got, want)
	}
}

func TestServer_connectionLimit(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	conns := make([]net.Conn, spdkserver.MaxConns)
	for i := range conns {
		conns[i] = f.dial(t)
		send(t, conns[i], call(i, "echo"))
		readLine(t, conns[i])
	}
	extra := f.dial(t)
	if got, closed := probe(extra, 5*time.Second); len(got) > 0 || !closed {
		t.Fatalf("connection %d: received %q, closed %v; want closed at once", spdkserver.MaxConns+1, got, closed)
	}
	conns[0].Close()
	waitFor(t, func() bool { return f.srv.ConnCount() < spdkserver.MaxConns })
	f.checkServing(t)
}

func TestServer_peerCredentials(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	send(t, c, call(1, "peer"))
	want := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"result":{"OK":true,"PID":%d,"UID":%d,"GID":%d}}`, os.Getpid(), os.Getuid(), os.Getgid())
	if got := readLine(t, c); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestServer_crash checks both ways to crash: the socket file stays, connects
// are refused, and serving can start again on the same path.
func TestServer_crash(t *testing.T) {
	for _, how := range []string{"reply", "method"} {
		t.Run(how, func(t *testing.T) {
			checkNoLeak(t)
			f := startServer(t, spdkserver.Options{})
			c := f.dial(t)
			if how == "reply" {
				send(t, c, call(1, "crash"))
			} else {
				f.srv.Crash()
			}
			if extra, closed := probe(c, 5*time.Second); len(extra) > 0 || !closed {
				t.Fatalf("after crash: received %q, closed %v", extra, closed)
			}
			if err := <-f.serveCh; !errors.Is(err, spdkserver.ErrCrashed) {
				t.Fatalf("Serve returned %v, want ErrCrashed", err)
			}
			if fi, err := os.Lstat(f.path); err != nil || fi.Mode().Type() != os.ModeSocket {
				t.Fatalf("socket file after crash: %v, %v", fi, err)
			}
			if _, err := net.Dial("unix", f.path); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("dial after crash: %v, want ECONNREFUSED", err)
			}
			go func() { f.serveCh <- f.srv.ListenAndServe(context.Background(), f.path, 0o600) }()
			waitFor(t, func() bool {
				c, err := net.Dial("unix", f.path)
				if err == nil {
					c.Close()
				}
				return err == nil
			})
			f.checkServing(t)
			f.srv.Close()
			if err := <-f.serveCh; !errors.Is(err, spdkserver.ErrServerClosed) {
				t.Errorf("Serve after Close returned %v, want ErrServerClosed", err)
			}
			if _, err := os.Lstat(f.path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket file after Close: %v, want removed", err)
			}
		})
	}
}

func TestServer_dropConnections(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	a, b := f.dial(t), f.dial(t)
	for _, c := range []net.Conn{a, b} { // both admitted before the drop
		send(t, c, call(1, "echo"))
		readLine(t, c)
	}
	send(t, a, `{"id":2,"method":"sleep","params":{"ms":50}}`)
	f.srv.DropConnections()
	for _, c := range []net.Conn{a, b} {
		if extra, closed := probe(c, 5*time.Second); len(extra) > 0 || !closed {
			t.Errorf("after drop: received %q, closed %v", extra, closed)
		}
	}
	f.checkServing(t)
}

func TestServer_contextCancelledOnClose(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	send(t, c, call(1, "ctx"))
	waitFor(t, func() bool { return f.h.calls.Load() == 1 })
	c.Close()
	select {
	case err := <-f.h.ctxDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler context ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler context not cancelled after the client closed")
	}
}

func TestServer_faults(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	f.srv.SetDelay("echo", 50*time.Millisecond)
	send(t, c, call(1, "echo")+call(2, "spdk_get_version"))
	if got := readLine(t, c); !strings.HasPrefix(got, `{"jsonrpc":"2.0","id":2,`) {
		t.Errorf("delayed echo was not overtaken: first answer %s", got)
	}
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":1,"result":null}`; got != want {
		t.Errorf("delayed answer %s, want %s", got, want)
	}
	f.srv.SetDelay("echo", 0)
	f.srv.SetHang("echo", true)
	send(t, c, call(3, "echo")+call(4, "hang")+call(5, "nope"))
	if got := readLine(t, c); !strings.HasPrefix(got, `{"jsonrpc":"2.0","id":5,`) {
		t.Errorf("answer after hung calls: %s, want id 5", got)
	}
	f.srv.ClearFaults()
	send(t, c, call(6, "echo"))
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":6,"result":null}`; got != want {
		t.Errorf("after ClearFaults: %s, want %s", got, want)
	}
}

// TestServer_pollInterval checks that with polling on nothing is handled
// between ticks, and that a new interval applies at once, without waiting
// for a tick of the old one.
func TestServer_pollInterval(t *testing.T) {
	f := startServer(t, spdkserver.Options{PollInterval: time.Hour})
	c := f.dial(t)
	send(t, c, call(1, "spdk_get_version"))
	if extra, closed := probe(c, 50*time.Millisecond); len(extra) > 0 || closed || f.h.calls.Load() != 0 {
		t.Fatalf("before the first tick: received %q, closed %v, %d handler calls", extra, closed, f.h.calls.Load())
	}
	f.srv.SetPollInterval(time.Millisecond)
	if got := readLine(t, c); !strings.HasPrefix(got, `{"jsonrpc":"2.0","id":1,"result":{"version"`) {
		t.Errorf("answer %s", got)
	}
	// An answer completed while polling is released when polling stops.
	f.srv.SetPollInterval(time.Hour)
	send(t, c, `{"id":2,"method":"sleep","params":{"ms":1}}`)
	f.srv.SetPollInterval(0) // the request is read and handled now
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":2,"result":1}`; got != want {
		t.Errorf("answer %s, want %s", got, want)
	}
}

func TestServer_listenAndServe(t *testing.T) {
	dir := socketDir(t)
	srv := spdkserver.New(&testHandler{}, spdkserver.Options{})
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.ListenAndServe(context.Background(), file, 0o600); !errors.Is(err, spdkserver.ErrNotSocket) {
		t.Errorf("ListenAndServe on a regular file: %v, want ErrNotSocket", err)
	}
	sock := filepath.Join(dir, "s.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, sock, 0o640) }()
	waitFor(t, func() bool {
		fi, err := os.Lstat(sock)
		return err == nil && fi.Mode().Perm() == 0o640
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve after cancel: %v, want context.Canceled", err)
	}
}

// TestServer_concurrentClients runs many clients at once, each pipelining
// calls that complete out of order, and matches every answer by id.
func TestServer_concurrentClients(t *testing.T) {
	checkNoLeak(t)
	f := startServer(t, spdkserver.Options{})
	var wg sync.WaitGroup
	for client := range 16 {
		wg.Go(func() {
			c, err := net.Dial("unix", f.path)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			const n = 40
			var req strings.Builder
			for i := range n {
				if i%3 == 0 {
					fmt.Fprintf(&req, `{"id":%d,"method":"sleep","params":{"ms":%d}}`, i, (i*7+client)%10)
				} else {
					fmt.Fprintf(&req, `{"id":%d,"method":"async","params":[%d]}`, i, client)
				}
			}
			if _, err := c.Write([]byte(req.String())); err != nil {
				t.Error(err)
				return
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			seen := make(map[int]bool)
			for range n {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Errorf("client %d: read: %v", client, err)
					return
				}
				var ans struct{ ID int }
				if err := json.Unmarshal([]byte(line), &ans); err != nil || seen[ans.ID] {
					t.Errorf("client %d: bad or repeated answer id %d: %v", client, ans.ID, err)
				}
				seen[ans.ID] = true
			}
		})
	}
	wg.Wait()
	// Answers still owed when the server closes are dropped, and every
	// goroutine ends (checkNoLeak).
	c := f.dial(t)
	send(t, c, `{"id":1,"method":"sleep","params":{"ms":10000}}`)
	f.srv.SetDelay("echo", time.Hour)
	send(t, c, call(2, "echo"))
	waitFor(t, func() bool { return f.h.calls.Load() >= 16*40+2 })
	f.srv.Close()
}
