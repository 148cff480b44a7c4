package spdkserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spdk-agent/spdk-agent/internal/pipenet"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// heldHandler keeps every call until the test answers it.
type heldHandler struct{ calls chan heldCall }

type heldCall struct {
	req   *spdkserver.Request
	ctx   context.Context
	reply spdkserver.ReplyFunc
}

func (h *heldHandler) ServeRPC(ctx context.Context, req *spdkserver.Request, reply spdkserver.ReplyFunc) {
	h.calls <- heldCall{req: req, ctx: ctx, reply: reply}
}

// serveLimited starts a server with lim on a pipe listener and stops it
// at the end of the test.
func serveLimited(t *testing.T, lim spdkserver.Limits) (*pipenet.Listener, *heldHandler, *spdkserver.Server) {
	t.Helper()
	h := &heldHandler{calls: make(chan heldCall, 64)}
	srv := spdkserver.New(h, spdkserver.Options{Limits: lim})
	ln := pipenet.New()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln, h, srv
}

func writeCalls(t *testing.T, c net.Conn, n int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(`{"jsonrpc":"2.0","id":` + itoa(i) + `,"method":"m"}`)
	}
	go func() { _, _ = io.WriteString(c, b.String()) }()
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestLimits_maxInFlightStopsReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln, h, _ := serveLimited(t, spdkserver.Limits{MaxInFlight: 2})
		c := ln.Dial()
		defer c.Close()
		writeCalls(t, c, 5)
		first, second := <-h.calls, <-h.calls
		synctest.Wait()
		if len(h.calls) != 0 {
			t.Fatalf("%d calls handed over beyond the bound of 2", len(h.calls))
		}
		first.reply("a", nil)
		r := bufio.NewReader(c)
		if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, `"result":"a"`) {
			t.Fatalf("first answer = %q, %v", line, err)
		}
		third := <-h.calls // a slot freed once the answer was written
		synctest.Wait()
		if len(h.calls) != 0 {
			t.Fatalf("%d calls beyond the bound after one answer", len(h.calls))
		}
		for _, cl := range []heldCall{second, third} {
			cl.reply(1, nil)
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			(<-h.calls).reply(2, nil)
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestLimits_unreadAnswersDisconnectOnlyThatClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln, h, srv := serveLimited(t, spdkserver.Limits{MaxQueuedBytes: 1 << 20})
		deaf := ln.Dial()
		defer deaf.Close()
		writeCalls(t, deaf, 3)
		big := strings.Repeat("x", 600<<10)
		var held []heldCall
		for range 3 {
			cl := <-h.calls
			held = append(held, cl)
			cl.reply(big, nil)
		}
		<-held[0].ctx.Done() // the deaf client was dropped
		if q := srv.QueuedBytes(); q != 0 {
			t.Fatalf("QueuedBytes = %d after the drop, want 0", q)
		}

		other := ln.Dial()
		defer other.Close()
		writeCalls(t, other, 1)
		(<-h.calls).reply("ok", nil)
		if line, err := bufio.NewReader(other).ReadString('\n'); err != nil || !strings.Contains(line, `"ok"`) {
			t.Fatalf("other client: %q, %v", line, err)
		}
	})
}

func TestLimits_writeTimeoutDropsStalledReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln, h, _ := serveLimited(t, spdkserver.Limits{WriteTimeout: 5 * time.Second})
		deaf := ln.Dial()
		defer deaf.Close()
		writeCalls(t, deaf, 1)
		cl := <-h.calls
		start := time.Now()
		cl.reply("never read", nil)
		<-cl.ctx.Done()
		if d := time.Since(start); d < 5*time.Second || d > 6*time.Second {
			t.Fatalf("dropped after %v, want the 5s write timeout", d)
		}
	})
}

func TestLimits_idleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln, h, srv := serveLimited(t, spdkserver.Limits{IdleTimeout: time.Minute})
		busy := ln.Dial()
		defer busy.Close()
		writeCalls(t, busy, 1)
		cl := <-h.calls
		idle := ln.Dial()
		defer idle.Close()
		start := time.Now()
		if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("idle connection: read %v, want EOF", err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("idle connection closed after %v, want 1m", d)
		}
		// The busy one waits for its answer well past the idle timeout.
		time.Sleep(3 * time.Minute) // fake time inside the bubble
		cl.reply("late", nil)
		r := bufio.NewReader(busy)
		if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, "late") {
			t.Fatalf("busy connection: %q, %v", line, err)
		}
		start = time.Now()
		if _, err := r.ReadString('\n'); !errors.Is(err, io.EOF) {
			t.Fatalf("after its answer: %v, want EOF", err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("closed %v after its last answer, want 1m", d)
		}
		synctest.Wait()
		if n := srv.ConnCount(); n != 0 {
			t.Fatalf("ConnCount = %d, want 0", n)
		}
	})
}

func TestLimits_budgetDropsTheClientOverItsShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln, h, srv := serveLimited(t, spdkserver.Limits{Budget: 1 << 20})
		reader := ln.Dial()
		defer reader.Close()
		writeCalls(t, reader, 1)
		small := <-h.calls
		deaf := ln.Dial()
		defer deaf.Close()
		writeCalls(t, deaf, 2)
		big := strings.Repeat("x", 600<<10)
		first := <-h.calls
		first.reply(big, nil)
		(<-h.calls).reply(big, nil)
		<-first.ctx.Done()
		if small.ctx.Err() != nil {
			t.Fatal("the client within its share was dropped too")
		}
		small.reply("ok", nil)
		if line, err := bufio.NewReader(reader).ReadString('\n'); err != nil || !strings.Contains(line, `"ok"`) {
			t.Fatalf("client within its share: %q, %v", line, err)
		}
		synctest.Wait()
		if q := srv.QueuedBytes(); q != 0 {
			t.Fatalf("QueuedBytes = %d, want 0", q)
		}
	})
}
