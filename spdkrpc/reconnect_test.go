package spdkrpc

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// recObserver records what an Observer is told.
type recObserver struct {
	mu                      sync.Mutex
	calls                   map[string]int
	connected, disconnected int
	lastDisconnect          error
}

func (o *recObserver) CallDone(method string, d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.calls == nil {
		o.calls = map[string]int{}
	}
	o.calls[method]++
}

func (o *recObserver) Connected(string) { o.mu.Lock(); o.connected++; o.mu.Unlock() }

func (o *recObserver) Disconnected(err error) {
	o.mu.Lock()
	o.disconnected++
	o.lastDisconnect = err
	o.mu.Unlock()
}

func TestClient_disconnectFailsPendingAndReconnects(t *testing.T) {
	f := newFake(t, func(r fakeReq) fakeReply {
		if r.Method == "hang" {
			return fakeReply{NoReply: true}
		}
		return echoN(r)
	}).start()
	f.addMethods("hang", "echo")
	obs := &recObserver{}
	c := newTestClient(t, f, Options{Observer: obs, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	connected(t, c)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- c.Call(ctx, "hang", nil, nil) }()
	}
	for len(f.requestsFor("hang")) < 3 {
		time.Sleep(time.Millisecond)
	}
	f.dropConns()
	for range 3 {
		err := <-errs
		if !errors.Is(err, ErrDisconnected) || ctx.Err() != nil {
			t.Errorf("pending call: err = %v, want ErrDisconnected before the deadline", err)
		}
	}
	connected(t, c)
	var got int
	if err := c.Call(ctx, "echo", map[string]int{"n": 7}, &got); err != nil || got != 7 {
		t.Fatalf("after reconnect: %d, %v", got, err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.connected != 2 || obs.disconnected != 1 || obs.calls["hang"] != 3 || obs.calls["echo"] != 1 {
		t.Errorf("observer saw connected=%d disconnected=%d calls=%v", obs.connected, obs.disconnected, obs.calls)
	}
}

func TestClient_failFastWhileDisconnected(t *testing.T) {
	f := newFake(t, func(fakeReq) fakeReply { return fakeReply{Result: true} })
	f.setMethods(nil)
	c := newTestClient(t, f, Options{MinBackoff: time.Hour, MaxBackoff: time.Hour})

	start := time.Now()
	err := c.WaitForExamine(context.Background())
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("err = %v, want ErrDisconnected", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("call did not fail fast")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.WaitConnected(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), f.path) {
		t.Errorf("WaitConnected: %v, want DeadlineExceeded naming the socket", err)
	}
	// SPDK comes up; with an hour of backoff only Reconnect brings the
	// client back in time.
	f.start()
	c.Reconnect()
	connected(t, c)
	if err := c.WaitForExamine(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestClient_reconnectToReplacedSocket(t *testing.T) {
	a := newFake(t, nil).start()
	c := newTestClient(t, a, Options{MinBackoff: time.Hour, MaxBackoff: time.Hour})
	connected(t, c)
	// Reconnect with the same socket keeps the connection.
	c.Reconnect()
	time.Sleep(20 * time.Millisecond)
	if n := len(a.requestsFor("spdk_get_version")); n != 1 {
		t.Fatalf("Reconnect redialed an unchanged socket (%d handshakes)", n)
	}

	// A new SPDK makes a new socket file at the same path.
	b := newFake(t, nil)
	b.path, b.version = a.path, "SPDK v26.09 fake"
	a.mu.Lock()
	a.ln.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	a.mu.Unlock()
	mustRemove(t, a.path)
	b.start()
	c.Reconnect()
	deadline := time.Now().Add(10 * time.Second)
	for c.Version() != b.version {
		if time.Now().After(deadline) {
			t.Fatalf("still on %q", c.Version())
		}
		time.Sleep(time.Millisecond)
	}
	connected(t, c)
	if _, err := c.GetVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestClient_closed(t *testing.T) {
	f := newFake(t, nil).start()
	c := New(f.path, Options{})
	connected(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoLeaks(t)
	if _, err := c.GetVersion(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v, want ErrClosed", err)
	}
	if err := c.WaitConnected(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitConnected after Close: %v, want ErrClosed", err)
	}
}

func TestClient_serverRestarts(t *testing.T) {
	f := newFake(t, nil).start()
	c := newTestClient(t, f, Options{MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	connected(t, c)

	f.stop() // SPDK exits: connections close, the socket goes away
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.GetVersion(context.Background())
		if errors.Is(err, ErrDisconnected) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not disconnected: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	g := newFake(t, nil)
	g.path, g.version = f.path, "SPDK v26.05 restarted"
	g.start()
	connected(t, c) // by backoff alone, no Reconnect
	if v, err := c.GetVersion(context.Background()); err != nil || v.Version != g.version {
		t.Fatalf("after restart: %+v, %v", v, err)
	}
}

func TestClient_handshakeTimeout(t *testing.T) {
	f := newFake(t, nil)
	f.mute = true
	f.start()
	c := newTestClient(t, f, Options{HandshakeTimeout: 20 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := c.WaitConnected(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "handshake") {
		t.Errorf("WaitConnected: %v, want a deadline naming the handshake", err)
	}
	if _, err := c.GetVersion(context.Background()); !errors.Is(err, ErrDisconnected) {
		t.Errorf("call to a hung SPDK: %v, want ErrDisconnected", err)
	}
}

func TestClient_closeFailsPending(t *testing.T) {
	f := newFake(t, func(r fakeReq) fakeReply { return fakeReply{NoReply: true} }).start()
	f.setMethods(nil)
	c := New(f.path, Options{})
	connected(t, c)
	errs := make(chan error, 1)
	go func() { errs <- c.Call(context.Background(), "hang", nil, nil) }()
	for len(f.requestsFor("hang")) == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, ErrDisconnected) || !errors.Is(err, ErrClosed) {
		t.Errorf("pending call at Close: %v, want ErrDisconnected and ErrClosed", err)
	}
	checkNoLeaks(t)
}

// TestDialFailures_rateLimited checks that a client failing to connect
// warns once, then at most every stillFailingEvery, and logs the attempts
// in between at debug level only.
func TestDialFailures_rateLimited(t *testing.T) {
	var buf strings.Builder
	c := &Client{path: "/run/spdk.sock", opts: Options{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
	var d dialFailures
	t0 := time.Unix(1700000000, 0)
	for s := 0; s <= 65; s++ { // one attempt a second, as with a 1 s backoff
		d.failed(c, errors.New("connect: no such file or directory"), t0.Add(time.Duration(s)*time.Second))
	}
	var warns []string
	debug := 0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		switch {
		case strings.Contains(line, "level=WARN"):
			warns = append(warns, line)
		case strings.Contains(line, "level=DEBUG"):
			debug++
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
	if len(warns) != 3 || debug != 63 {
		t.Fatalf("%d warnings and %d debug lines, want 3 (at 0 s, 30 s, 60 s) and 63:\n%s", len(warns), debug, strings.Join(warns, "\n"))
	}
	for i, want := range []string{
		`msg="waiting for SPDK: cannot connect; retrying until it answers" socket=/run/spdk.sock`,
		`msg="still waiting for SPDK" socket=/run/spdk.sock for=30s attempts=31`,
		`msg="still waiting for SPDK" socket=/run/spdk.sock for=1m0s attempts=61`,
	} {
		if !strings.Contains(warns[i], want) {
			t.Errorf("warning %d = %q, want it to contain %q", i, warns[i], want)
		}
	}
	if w := d.waited(t0.Add(70 * time.Second)); w != 70*time.Second {
		t.Errorf("waited = %v, want 70s", w)
	}
	if w := d.waited(t0.Add(80 * time.Second)); w != 0 {
		t.Errorf("waited after a connection = %v, want 0: the run of failures ended", w)
	}

	// After a lost connection, reported on its own, the first failures
	// are not announced again.
	buf.Reset()
	d.lost(t0)
	for s := 1; s <= 31; s++ {
		d.failed(c, errors.New("connect: connection refused"), t0.Add(time.Duration(s)*time.Second))
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 || !strings.Contains(buf.String(), `msg="still waiting for SPDK" socket=/run/spdk.sock for=30s attempts=30`) {
		t.Errorf("after a lost connection: %d warnings, want 1 at 30 s:\n%s", n, buf.String())
	}
	if w := d.waited(t0.Add(40 * time.Second)); w != 40*time.Second {
		t.Errorf("waited since the loss = %v, want 40s", w)
	}
}
