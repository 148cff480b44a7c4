package spdkrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
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
	f.setMethods(nil) // methods unknown: everything is allowed
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
	f.addMethods("echo")
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
	f.addMethods("slow", "echo")
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
			f.addMethods("bad")
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
	f.addMethods("big")
	c := newTestClient(t, f, Options{})
	connected(t, c)
	ctx := context.Background()

	err := c.Call(ctx, "big", map[string]string{"s": strings.Repeat("x", 300<<10)}, nil)
	if !errors.Is(err, ErrRequestTooLarge) || !strings.Contains(err.Error(), "262144") || !strings.Contains(err.Error(), "307") {
		t.Errorf("err = %v, want ErrRequestTooLarge with the size and the limit", err)
	}
	if _, err := c.CallRaw(ctx, "", nil); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("empty method: %v, want ErrInvalidRequest", err)
	}
	if _, err := c.CallRaw(ctx, "big", json.RawMessage("{\"name\":\"\xc3\"}")); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("invalid UTF-8: %v, want ErrInvalidRequest", err)
	}
	if _, err := c.CallRaw(ctx, "big", json.RawMessage(`"a string"`)); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("string params: %v, want ErrInvalidRequest", err)
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
	f.setMethods(nil)
	c := newTestClient(t, f, Options{})
	connected(t, c)
	ctx := context.Background()

	var got string
	if err := c.Call(ctx, "big", nil, &got); err != nil || got != big {
		t.Fatalf("1 MiB reply: %d bytes, %v", len(got), err)
	}
	err := c.Call(ctx, "huge", nil, nil)
	if !errors.Is(err, ErrDisconnected) || !errors.Is(err, ErrReplyTooLarge) || !strings.Contains(err.Error(), "33554432 bytes") {
		t.Errorf("reply over the limit: %v, want ErrDisconnected and ErrReplyTooLarge naming the limit", err)
	}
}

func TestClient_tooManyValues(t *testing.T) {
	f := newFake(t, func(r fakeReq) fakeReply { return fakeReply{Result: true} }).start()
	f.setMethods(nil)
	c := newTestClient(t, f, Options{})
	connected(t, c)
	ctx := context.Background()

	// {"a":[0,0,...]}: braces, name, brackets and the numbers.
	params := func(n int) json.RawMessage {
		return json.RawMessage(`{"a":[` + strings.TrimSuffix(strings.Repeat("0,", n), ",") + `]}`)
	}
	fits := MaxRequestValues - envelopeValues - 5
	if _, err := c.CallRaw(ctx, "many", params(fits)); err != nil {
		t.Errorf("%d values: %v", fits+envelopeValues+5, err)
	}
	_, err := c.CallRaw(ctx, "many", params(fits+1))
	if !errors.Is(err, ErrRequestTooLarge) || !strings.Contains(err.Error(), "8193 JSON values") {
		t.Errorf("8193 values: %v, want ErrRequestTooLarge naming the count", err)
	}
	if n := len(f.requestsFor("many")); n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}
}

// A server that stops reading must not hold up callers whose context ends:
// requests queue behind the blocked write instead of blocking the caller.
func TestClient_stuckWriteDoesNotBlockCallers(t *testing.T) {
	path := filepath.Join(shortDir(t), "stuck.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(release); ln.Close(); wg.Wait() }()
	wg.Go(func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		dec := json.NewDecoder(nc)
		for range 2 { // answer the handshake, then read nothing more
			var req struct {
				ID json.RawMessage `json:"id"`
			}
			if dec.Decode(&req) != nil {
				return
			}
			fmt.Fprintf(nc, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Method not found"}}`+"\n", req.ID)
		}
		<-release
	})
	c := New(path, Options{WriteTimeout: time.Hour})
	defer c.Close()
	connected(t, c)

	params := map[string]string{"s": strings.Repeat("x", 200<<10)}
	for i := range 20 { // far more than the socket buffers hold
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- c.Call(ctx, "fill", params, nil) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("call %d: %v, want DeadlineExceeded", i, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("call %d is blocked behind a write that cannot finish", i)
		}
		cancel()
	}
}

// TestClient_replyRightBeforeClose checks that a reply followed at once by
// the end of the stream reaches its call: jrpc2 delivers replies on
// goroutines of their own and could otherwise fail the call first.
func TestClient_replyRightBeforeClose(t *testing.T) {
	f := newFake(t, func(r fakeReq) fakeReply {
		rep := echoN(r)
		rep.Last = true
		return rep
	}).start()
	f.addMethods("echo")
	for i := range 100 {
		c, err := Dial(context.Background(), f.path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got int
		err = c.Call(context.Background(), "echo", map[string]int{"n": i}, &got)
		c.Close()
		if err != nil {
			t.Fatalf("call %d, answered right before the close: %v", i, err)
		}
		if got != i {
			t.Fatalf("call %d got %d", i, got)
		}
	}
	checkNoLeaks(t)
}
