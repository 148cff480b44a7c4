package spdkrpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// Tests against spdkserver, the SPDK-framed server the simulator is built
// on: its framing, poller, faults and crash behave like spdk_tgt's.

// miniSPDK answers a few methods the way spdk_tgt does, including its
// refusal of params on methods that take none.
type miniSPDK struct {
	mu    sync.Mutex // protects seen
	seen  []string   // "method params" of every request
	noArg map[string]any
}

func newMiniSPDK() *miniSPDK {
	return &miniSPDK{noArg: map[string]any{
		"spdk_get_version":      map[string]any{"version": "SPDK v26.05 spdkserver", "fields": map[string]any{"major": 26, "minor": 5}},
		"rpc_get_methods":       []string{"spdk_get_version", "rpc_get_methods", "bdev_wait_for_examine", "bdev_lvol_delete", "echo"},
		"bdev_wait_for_examine": true,
	}}
}

func (m *miniSPDK) ServeRPC(ctx context.Context, req *spdkserver.Request, reply spdkserver.ReplyFunc) {
	m.mu.Lock()
	m.seen = append(m.seen, req.Method+" "+string(req.Params))
	m.mu.Unlock()
	if res, ok := m.noArg[req.Method]; ok {
		if req.Params != nil {
			reply(nil, &spdkrpc.Error{Code: spdkrpc.CodeInvalidParams, Message: req.Method + " method requires no parameters"})
			return
		}
		reply(res, nil)
		return
	}
	switch req.Method {
	case "echo":
		reply(req.Params, nil)
	case "bdev_lvol_delete":
		reply(nil, &spdkrpc.Error{Code: -19, Message: "No such device"})
	default:
		reply(nil, &spdkrpc.Error{Code: spdkrpc.CodeMethodNotFound, Message: "Method not found"})
	}
}

func (m *miniSPDK) requests() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.seen...)
}

// serveMini starts a server on a fresh socket; it stops with the test.
func serveMini(t testing.TB, opts spdkserver.Options) (*spdkserver.Server, *miniSPDK, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "spdkrpc")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "spdk.sock")
	h := newMiniSPDK()
	srv := spdkserver.New(h, opts)
	served := listen(t, srv, path)
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	t.Cleanup(func() { os.RemoveAll(dir) })
	return srv, h, path
}

// listen serves srv at path until the test ends, and waits for the socket.
// The channel is closed when serving ends (a crash, Close, the test's end).
func listen(t testing.TB, srv *spdkserver.Server, path string) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ListenAndServe(ctx, path, 0o600)
	}()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return done
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not listen")
		}
	}
}

func dialMini(t testing.TB, path string, opts spdkrpc.Options) *spdkrpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := spdkrpc.Dial(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		spdkrpc.CheckNoLeaks(t)
	})
	return c
}

func TestServer_pipelinedAndOutOfOrder(t *testing.T) {
	srv, _, path := serveMini(t, spdkserver.Options{PollInterval: 4 * time.Millisecond})
	srv.SetDelay("echo", 60*time.Millisecond)
	c := dialMini(t, path, spdkrpc.Options{})
	ctx := context.Background()

	// The delayed echo is overtaken by the version calls sent after it.
	echoed := make(chan error, 1)
	go func() {
		var got map[string]int
		err := c.Call(ctx, "echo", map[string]int{"n": 42}, &got)
		if err == nil && got["n"] != 42 {
			err = errors.New("echo got another call's reply")
		}
		echoed <- err
	}()
	time.Sleep(10 * time.Millisecond)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if v, err := c.GetVersion(ctx); err != nil || v.Version != "SPDK v26.05 spdkserver" {
				t.Errorf("GetVersion: %+v, %v", v, err)
			}
		})
	}
	wg.Wait()
	if err := <-echoed; err != nil {
		t.Error(err)
	}
}

func TestServer_noParamsAndErrors(t *testing.T) {
	_, h, path := serveMini(t, spdkserver.Options{})
	c := dialMini(t, path, spdkrpc.Options{})
	ctx := context.Background()

	if err := c.WaitForExamine(ctx); err != nil {
		t.Fatalf("parameterless method: %v", err)
	}
	err := c.DeleteLvol(ctx, "lvs0/nope")
	var se *spdkrpc.Error
	if !errors.Is(err, spdkrpc.ErrNotFound) || !errors.As(err, &se) || se.Code != -19 {
		t.Errorf("DeleteLvol: %v, want ErrNotFound with code -19", err)
	}
	// A method this SPDK does not list never reaches it.
	if _, err := c.Clone(ctx, "lvs0/s", "c"); !errors.Is(err, spdkrpc.ErrMethodNotFound) {
		t.Errorf("Clone: %v, want ErrMethodNotFound", err)
	}
	for _, r := range h.requests() {
		if strings.HasPrefix(r, "bdev_lvol_clone") {
			t.Errorf("sent %s", r)
		}
		if r == "bdev_wait_for_examine {}" {
			t.Errorf("params sent to a parameterless method")
		}
	}
}

func TestServer_cancelledCallsLateReplies(t *testing.T) {
	srv, h, path := serveMini(t, spdkserver.Options{PollInterval: 4 * time.Millisecond})
	srv.SetDelay("echo", 300*time.Millisecond)
	c := dialMini(t, path, spdkrpc.Options{MaxInFlight: 2})

	for i := range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		err := c.Call(ctx, "echo", map[string]int{"n": i}, nil)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call %d: %v, want DeadlineExceeded", i, err)
		}
	}
	srv.ClearFaults()
	time.Sleep(400 * time.Millisecond) // the late replies arrive and are dropped
	var got map[string]int
	if err := c.Call(context.Background(), "echo", map[string]int{"n": 99}, &got); err != nil || got["n"] != 99 {
		t.Fatalf("after the late replies: %v, %v", got, err)
	}
	if srv.ConnCount() != 1 {
		t.Errorf("%d connections, want the one", srv.ConnCount())
	}
	for _, r := range h.requests() {
		if !strings.HasPrefix(r, "echo ") && !strings.HasPrefix(r, "spdk_get_version") && !strings.HasPrefix(r, "rpc_get_methods") {
			t.Errorf("unexpected request %q", r)
		}
	}
}

func TestServer_crashAndRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	srv := spdkserver.New(newMiniSPDK(), spdkserver.Options{})
	served := listen(t, srv, path)
	srv.SetHang("echo", true)
	c := dialMini(t, path, spdkrpc.Options{MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})

	pending := make(chan error, 1)
	go func() { pending <- c.Call(context.Background(), "echo", map[string]int{}, nil) }()
	time.Sleep(20 * time.Millisecond)
	srv.Crash()
	if err := <-pending; !errors.Is(err, spdkrpc.ErrDisconnected) {
		t.Fatalf("call in flight at the crash: %v, want ErrDisconnected", err)
	}
	if _, err := c.GetVersion(context.Background()); !errors.Is(err, spdkrpc.ErrDisconnected) {
		t.Errorf("call while SPDK is down: %v, want ErrDisconnected", err)
	}
	srv.ClearFaults()
	<-served             // the crashed server has stopped
	listen(t, srv, path) // SPDK restarts on the same path
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVersion(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestServer_oversizeRefusedKeepsCallsInFlight(t *testing.T) {
	srv, _, path := serveMini(t, spdkserver.Options{})
	srv.SetDelay("echo", 50*time.Millisecond)
	c := dialMini(t, path, spdkrpc.Options{})
	ctx := context.Background()

	inFlight := make(chan error, 1)
	go func() { inFlight <- c.Call(ctx, "echo", map[string]int{"n": 1}, nil) }()
	time.Sleep(5 * time.Millisecond)
	big, _ := json.Marshal(map[string]string{"s": strings.Repeat("x", spdkserver.MaxRequestSize)})
	if _, err := c.CallRaw(ctx, "echo", big); !errors.Is(err, spdkrpc.ErrRequestTooLarge) {
		t.Errorf("oversized: %v, want ErrRequestTooLarge", err)
	}
	many := json.RawMessage("[" + strings.TrimSuffix(strings.Repeat("1,", spdkserver.MaxValues), ",") + "]")
	if _, err := c.CallRaw(ctx, "echo", many); !errors.Is(err, spdkrpc.ErrRequestTooLarge) {
		t.Errorf("too many values: %v, want ErrRequestTooLarge", err)
	}
	if err := <-inFlight; err != nil {
		t.Errorf("the call in flight was lost: %v", err)
	}
}

// BenchmarkServerGetVersion50 makes 50 spdk_get_version calls per
// iteration against spdkserver with spdk_tgt's 4 ms poll period.
func BenchmarkServerGetVersion50(b *testing.B) {
	_, _, path := serveMini(b, spdkserver.Options{PollInterval: 4 * time.Millisecond})
	benchmark50(b, dialMini(b, path, spdkrpc.Options{}))
}

// benchmark50 makes 50 spdk_get_version calls per iteration, one after the
// other and then from 50 goroutines through one client. Against a 4 ms
// poller pipelining turns ~50 round trips of two periods into one.
func benchmark50(b *testing.B, c *spdkrpc.Client) {
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			for range 50 {
				if _, err := c.GetVersion(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("concurrent", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					if _, err := c.GetVersion(ctx); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
		}
	})
}
