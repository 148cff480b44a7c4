package spdkserver_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// shutdownAsync runs Shutdown with the given timeout and returns its result
// on a channel.
func (f *fixture) shutdownAsync(timeout time.Duration) <-chan error {
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		errc <- f.srv.Shutdown(ctx)
	}()
	return errc
}

// waitRefused waits until connects to the fixture's socket fail.
func (f *fixture) waitRefused(t *testing.T) {
	t.Helper()
	waitFor(t, func() bool {
		c, err := net.Dial("unix", f.path)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

func TestServer_shutdownAnswersCallsInFlight(t *testing.T) {
	for _, tc := range []struct {
		name string
		poll time.Duration
	}{
		{"no polling", 0},
		{"polling", 4 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeak(t)
			f := startServer(t, spdkserver.Options{PollInterval: tc.poll})
			slow, idle := f.dial(t), f.dial(t)
			send(t, slow, `{"jsonrpc":"2.0","id":1,"method":"sleep","params":{"ms":300}}`+
				`[{"jsonrpc":"2.0","id":2,"method":"sleep","params":{"ms":200}},{"jsonrpc":"2.0","method":"echo"}]`)
			waitFor(t, func() bool { return f.h.calls.Load() == 3 })
			errc := f.shutdownAsync(10 * time.Second)
			f.waitRefused(t)
			// Sent after the shutdown began: never handled, never answered.
			send(t, slow, call(3, "echo"))
			if got, want := readLine(t, slow), `[{"jsonrpc":"2.0","id":2,"result":200}]`; got != want {
				t.Errorf("first answer %s, want %s", got, want)
			}
			if got, want := readLine(t, slow), `{"jsonrpc":"2.0","id":1,"result":300}`; got != want {
				t.Errorf("second answer %s, want %s", got, want)
			}
			if extra, closed := probe(slow, 5*time.Second); len(extra) > 0 || !closed {
				t.Errorf("after the drained answers: received %q, closed %v", extra, closed)
			}
			if extra, closed := probe(idle, 5*time.Second); len(extra) > 0 || !closed {
				t.Errorf("idle connection: received %q, closed %v", extra, closed)
			}
			if err := <-errc; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if err := <-f.serveCh; !errors.Is(err, spdkserver.ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
			if n := f.h.calls.Load(); n != 3 {
				t.Errorf("handler called %d times, want 3: the request sent during shutdown was served", n)
			}
		})
	}
}

// TestServer_shutdownDoesNotWaitForCallsThatNeverAnswer covers
// ErrNoReply and SetHang: Shutdown ends as soon as the other answers are out.
func TestServer_shutdownDoesNotWaitForCallsThatNeverAnswer(t *testing.T) {
	checkNoLeak(t)
	f := startServer(t, spdkserver.Options{})
	f.srv.SetHang("echo", true)
	c := f.dial(t)
	send(t, c, call(1, "hang")+call(2, "echo")+`[`+call(3, "spdk_get_version")+`,`+call(4, "hang")+`]`+
		`{"jsonrpc":"2.0","id":5,"method":"sleep","params":{"ms":100}}`)
	waitFor(t, func() bool { return f.h.calls.Load() == 5 })
	errc := f.shutdownAsync(time.Minute)
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":5,"result":100}`; got != want {
		t.Errorf("answer %s, want %s", got, want)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown waits for calls that never answer")
	}
	if extra, closed := probe(c, 5*time.Second); len(extra) > 0 || !closed {
		t.Errorf("after shutdown: received %q, closed %v", extra, closed)
	}
}

func TestServer_shutdownContextEnds(t *testing.T) {
	checkNoLeak(t)
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	send(t, c, call(1, "ctx"))
	waitFor(t, func() bool { return f.h.calls.Load() == 1 })
	err := <-f.shutdownAsync(50 * time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	select {
	case err := <-f.h.ctxDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler context ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler context not cancelled when the drain was cut short")
	}
	if extra, closed := probe(c, 5*time.Second); len(extra) > 0 || !closed {
		t.Errorf("after the cut: received %q, closed %v", extra, closed)
	}
	if err := <-f.serveCh; !errors.Is(err, spdkserver.ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
}

func TestServer_shutdownBeforeServe(t *testing.T) {
	srv := spdkserver.New(&testHandler{}, spdkserver.Options{})
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown of a server never started: %v", err)
	}
	ln, err := net.Listen("unix", socketDir(t)+"/s.sock")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(context.Background(), ln); !errors.Is(err, spdkserver.ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
}
