package health

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pipeListener hands out the server ends of net.Pipe pairs, so that the
// HTTP server runs inside a synctest bubble.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "unix"} }

func TestServer_idleAndSlowConnectionsAreClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(Options{IdleTimeout: 7 * time.Second})
		ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx, ln) }()
		defer func() { cancel(); <-served }()
		dial := func() net.Conn {
			c, srv := net.Pipe()
			ln.conns <- srv
			return c
		}

		// A keep-alive connection after its answer: closed when idle.
		c := dial()
		defer c.Close()
		go func() { _, _ = io.WriteString(c, "GET /livez HTTP/1.1\r\nHost: agent\r\n\r\n") }()
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /livez: %v %v", resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		start := time.Now()
		if _, err := r.ReadByte(); err != io.EOF {
			t.Fatalf("idle keep-alive connection: %v, want EOF", err)
		}
		if d := time.Since(start); d != 7*time.Second {
			t.Errorf("idle connection closed after %v, want the 7s idle timeout", d)
		}

		// A connection that never sends its headers.
		slow := dial()
		defer slow.Close()
		start = time.Now()
		if _, err := slow.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("silent connection: %v, want EOF", err)
		}
		if d := time.Since(start); d > readHeaderTimeout+time.Second {
			t.Errorf("silent connection closed after %v, want about %v", d, readHeaderTimeout)
		}
	})
}
