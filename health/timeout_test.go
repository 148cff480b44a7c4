package health

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spdk-agent/spdk-agent/internal/pipenet"
)

func TestServer_idleAndSlowConnectionsAreClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(Options{IdleTimeout: 7 * time.Second})
		ln := pipenet.New()
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx, ln) }()
		defer func() { cancel(); <-served }()
		dial := ln.Dial

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
