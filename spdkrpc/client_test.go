package spdkrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func connected(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
}

func echoN(r fakeReq) fakeReply {
	var p struct{ N int }
	_ = json.Unmarshal(r.Params, &p)
	return fakeReply{Result: p.N}
}

func TestClient_requestEncoding(t *testing.T) {
	f := newFake(t, func(r fakeReq) fakeReply { return fakeReply{Result: true} }).start()
	f.methods = nil // methods unknown: everything is allowed
	c := newTestClient(t, f, Options{})
	connected(t, c)
	ctx := context.Background()

	if _, err := c.GetVersion(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForExamine(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallRaw(ctx, "x_raw", json.RawMessage(" {\n \"a\" : [1, 2] } ")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallRaw(ctx, "x_null", json.RawMessage("null")); err != nil {
		t.Fatal(err)
	}
	reqs := f.requestsFor("spdk_get_version")
	// The handshake sent one, GetVersion another.
	if len(reqs) != 2 {
		t.Fatalf("got %d spdk_get_version requests, want 2", len(reqs))
	}
	want := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"spdk_get_version"}`, reqs[1].ID)
	if string(reqs[1].Raw) != want {
		t.Errorf("request = %s, want %s", reqs[1].Raw, want)
	}
	for _, m := range []string{"bdev_wait_for_examine", "x_null"} {
		if r := f.requestsFor(m); len(r) != 1 || r[0].Params != nil || strings.Contains(string(r[0].Raw), "params") {
			t.Errorf("%s: got %q, want one request without params", m, r)
		}
	}
	if r := f.requestsFor("x_raw"); len(r) != 1 || !strings.HasSuffix(string(r[0].Raw), `"params":{"a":[1,2]}}`) {
		t.Errorf("x_raw: got %q, want compact params", r)
	}
}

func TestClient_pipelinedOutOfOrder(t *testing.T) {
	const n = 20
	f := newFake(t, func(r fakeReq) fakeReply {
		rep := echoN(r)
		// The first requests answer last.
		rep.Delay = time.Duration(n-rep.Result.(int)) * 3 * time.Millisecond
		return rep
	}).start()
	f.methods = append(f.methods, "echo")
	c := newTestClient(t, f, Options{})
	connected(t, c)

	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var got int
			if err := c.Call(context.Background(), "echo", map[string]int{"n": i}, &got); err != nil {
				t.Error(err)
			} else if got != i {
				t.Errorf("call %d got the reply of call %d", i, got)
			}
		})
	}
	wg.Wait()
}

func TestClient_contextEndsFirst(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(r fakeReq) fakeReply {
		if r.Method == "slow" {
			return fakeReply{Result: -1, Wait: release}
		}
		return echoN(r)
	}).start()
	f.methods = append(f.methods, "slow", "echo")
	c := newTestClient(t, f, Options{MaxInFlight: 1})
	connected(t, c)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Call(ctx, "slow", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the call returned %v after its deadline", d)
	}
	// The slot is free again (MaxInFlight is 1), and the late reply of the
	// abandoned call must not be taken for this one.
	close(release)
	for i := range 5 {
		var got int
		if err := c.Call(context.Background(), "echo", map[string]int{"n": i}, &got); err != nil || got != i {
			t.Fatalf("call %d after the cancelled one: got %d, %v", i, got, err)
		}
	}
	// Nothing but the calls themselves was sent: no cancellation notice.
	for _, r := range f.requests() {
		switch r.Method {
		case "spdk_get_version", "rpc_get_methods", "slow", "echo":
		default:
			t.Errorf("unexpected request sent: %s", r.Raw)
		}
	}
	if r := f.requestsFor("slow"); len(r) != 1 {
		t.Errorf("slow was sent %d times", len(r))
	}
}

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
	f.methods = append(f.methods, "hang", "echo")
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

func TestClient_badReplyDropsConnection(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"garbage", "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":garbage}\n", "not valid JSON"},
		{"unterminated string", "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":[\"lvs/\xc3\n", "control character"},
		{"top-level number", "42\n", "object or an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(r fakeReq) fakeReply {
				if r.Method == "bad" {
					raw := tc.raw
					if strings.Contains(raw, "%s") {
						raw = fmt.Sprintf(raw, r.ID)
					}
					return fakeReply{Raw: raw}
				}
				return fakeReply{Result: true}
			}).start()
			f.methods = append(f.methods, "bad")
			c := newTestClient(t, f, Options{})
			connected(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := c.Call(ctx, "bad", nil, nil)
			if !errors.Is(err, ErrDisconnected) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrDisconnected mentioning %q", err, tc.want)
			}
		})
	}
}

func TestClient_requestTooLarge(t *testing.T) {
	f := newFake(t, func(r fakeReq) fakeReply { return fakeReply{Result: true} }).start()
	f.methods = append(f.methods, "big")
	c := newTestClient(t, f, Options{})
	connected(t, c)
	ctx := context.Background()

	err := c.Call(ctx, "big", map[string]string{"s": strings.Repeat("x", 300<<10)}, nil)
	if !errors.Is(err, ErrRequestTooLarge) || !strings.Contains(err.Error(), "262144") || !strings.Contains(err.Error(), "307") {
		t.Errorf("err = %v, want ErrRequestTooLarge with the size and the limit", err)
	}
	if n := len(f.requestsFor("big")); n != 0 {
		t.Errorf("the oversized request was sent (%d)", n)
	}
	if err := c.Call(ctx, "big", map[string]string{"s": strings.Repeat("x", 200<<10)}, nil); err != nil {
		t.Errorf("200 KiB request: %v", err)
	}
}

func TestClient_methodMissingFailsFast(t *testing.T) {
	f := newFake(t, nil).start()
	c := newTestClient(t, f, Options{})
	connected(t, c)

	_, err := c.Clone(context.Background(), "lvs0/snap1", "c1")
	if !errors.Is(err, ErrMethodNotFound) || !strings.Contains(err.Error(), "bdev_lvol_clone") || !strings.Contains(err.Error(), f.version) {
		t.Errorf("err = %v, want ErrMethodNotFound naming the method and version", err)
	}
	if n := len(f.requestsFor("bdev_lvol_clone")); n != 0 {
		t.Errorf("the call was sent anyway")
	}
	if c.HasMethod("bdev_lvol_clone") || !c.HasMethod("spdk_get_version") {
		t.Errorf("HasMethod disagrees with rpc_get_methods")
	}
	if c.Version() != f.version {
		t.Errorf("Version() = %q, want %q", c.Version(), f.version)
	}
}

func TestClient_failFastWhileDisconnected(t *testing.T) {
	f := newFake(t, func(fakeReq) fakeReply { return fakeReply{Result: true} })
	f.methods = nil
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

func TestDial(t *testing.T) {
	f := newFake(t, nil).start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, f.path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Version() != f.version {
		t.Errorf("Version() = %q", c.Version())
	}

	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if c, err := Dial(ctx2, f.path+".missing", Options{}); err == nil || c != nil {
		t.Errorf("Dial of a missing socket: %v, %v", c, err)
	}
}

func TestClient_replySizes(t *testing.T) {
	big := strings.Repeat("b", 1<<20)
	f := newFake(t, func(r fakeReq) fakeReply {
		switch r.Method {
		case "big":
			return fakeReply{Result: big}
		case "huge":
			return fakeReply{Raw: fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":"%s"}`+"\n", r.ID, strings.Repeat("h", MaxReplySize))}
		}
		return fakeReply{Result: true}
	}).start()
	f.methods = nil
	c := newTestClient(t, f, Options{})
	connected(t, c)
	ctx := context.Background()

	var got string
	if err := c.Call(ctx, "big", nil, &got); err != nil || got != big {
		t.Fatalf("1 MiB reply: %d bytes, %v", len(got), err)
	}
	err := c.Call(ctx, "huge", nil, nil)
	if !errors.Is(err, ErrDisconnected) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("reply over the limit: %v, want ErrDisconnected naming the limit", err)
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
	f.methods = nil
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
