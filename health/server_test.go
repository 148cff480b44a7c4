package health

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts s on a fresh Unix socket and returns its path. The server
// is stopped, and waited for, when the test ends.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "health.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after cancel, want nil", err)
		}
	})
	return path
}

func probe(t *testing.T, sock, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	status, body, err := Probe(ctx, sock, path)
	if err != nil {
		t.Fatalf("Probe(%q): %v", path, err)
	}
	return status, body
}

func pass(context.Context) error { return nil }

func failWith(msg string) func(context.Context) error {
	return func(context.Context) error { return errors.New(msg) }
}

func TestServer_endpoints(t *testing.T) {
	hb := NewHeartbeat(time.Minute)
	s := NewServer(Options{
		Livez: []Check{hb.Check("refresh-loop"), {Name: "api-server", Run: pass}},
		Readyz: []Check{
			{Name: "spdk", Run: failWith("dial unix /var/tmp/spdk.sock: connection refused")},
			{Name: "graph", Run: pass},
			{Name: "registry", Run: failWith("registry.json: empty\nkept last good")},
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	sock := serve(t, s)

	for _, tc := range []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/livez", 200, "ok"},
		{"/livez?verbose", 200, "[+]refresh-loop ok\n[+]api-server ok\nlivez check passed\n"},
		{"/livez?verbose=1&exclude=api-server", 200,
			"[+]refresh-loop ok\n[+]api-server excluded: ok\nlivez check passed\n"},
		{"/livez/api-server", 200, "ok"},
		{"/livez/spdk", 404, "livez: no check named \"spdk\"\n"},
		{"/readyz", 503, "[-]spdk failed: dial unix /var/tmp/spdk.sock: connection refused\n" +
			"[-]registry failed: registry.json: empty kept last good\nreadyz check failed\n"},
		{"/healthz", 503, "[-]spdk failed: dial unix /var/tmp/spdk.sock: connection refused\n" +
			"[-]registry failed: registry.json: empty kept last good\nreadyz check failed\n"},
		{"/readyz?verbose", 503, "[-]spdk failed: dial unix /var/tmp/spdk.sock: connection refused\n" +
			"[+]graph ok\n[-]registry failed: registry.json: empty kept last good\nreadyz check failed\n"},
		{"/readyz?exclude=spdk&exclude=registry", 200, "ok"},
		{"/readyz?verbose&exclude=spdk&exclude=registry&exclude=nope", 200,
			"[+]spdk excluded: ok\n[+]graph ok\n[+]registry excluded: ok\n" +
				"warn: some checks cannot be excluded: no matches for \"nope\"\nreadyz check passed\n"},
		{"/readyz/graph", 200, "ok"},
		{"/readyz/graph?verbose", 200, "[+]graph ok\nreadyz check passed\n"},
		{"/healthz/spdk", 503, "[-]spdk failed: dial unix /var/tmp/spdk.sock: connection refused\nreadyz check failed\n"},
		{"/readyz/refresh-loop", 404, "readyz: no check named \"refresh-loop\"\n"},
		{"/metrics", 404, "404 page not found\n"},
		{"/", 404, "404 page not found\n"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			status, body := probe(t, sock, tc.path)
			if status != tc.wantStatus || body != tc.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tc.path, status, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

func TestServer_headersAndMethods(t *testing.T) {
	sock := serve(t, NewServer(Options{Livez: []Check{{Name: "a", Run: pass}}}))
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	defer client.CloseIdleConnections()

	resp, err := client.Get("http://x/livez")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}

	resp, err = client.Post("http://x/livez", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /livez = %d, want 405", resp.StatusCode)
	}
}

func TestServer_checksRunConcurrentlyWithTimeout(t *testing.T) {
	// Three checks that each need the others to have started: they only
	// pass if run concurrently. A fourth ignores its context and hangs.
	started := make(chan struct{}, 3)
	waitAll := func(ctx context.Context) error {
		started <- struct{}{}
		for len(started) < 3 {
			select {
			case <-ctx.Done():
				return errors.New("checks did not run concurrently")
			case <-time.After(time.Millisecond):
			}
		}
		return nil
	}
	release := make(chan struct{})
	defer close(release)
	s := NewServer(Options{
		Readyz: []Check{
			{Name: "a", Run: waitAll}, {Name: "b", Run: waitAll}, {Name: "c", Run: waitAll},
			{Name: "stuck", Run: func(context.Context) error { <-release; return nil }},
			{Name: "slow", Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
			{Name: "panics", Run: func(context.Context) error { panic("nil graph") }},
		},
		CheckTimeout: 200 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
	})
	sock := serve(t, s)
	status, body := probe(t, sock, "/readyz?verbose")
	want := "[+]a ok\n[+]b ok\n[+]c ok\n" +
		"[-]stuck failed: check timed out after 200ms\n" +
		"[-]slow failed: check timed out after 200ms\n" +
		"[-]panics failed: check panicked: nil graph\n" +
		"readyz check failed\n"
	if status != 503 || body != want {
		t.Errorf("got %d %q, want 503 %q", status, body, want)
	}
}

func TestServer_logsChangesOnce(t *testing.T) {
	var logs bytes.Buffer
	var healthy atomic.Bool
	s := NewServer(Options{
		Readyz: []Check{{Name: "spdk", Run: func(context.Context) error {
			if healthy.Load() {
				return nil
			}
			return errors.New("connection refused")
		}}},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	sock := serve(t, s)
	for range 3 {
		probe(t, sock, "/readyz")
	}
	healthy.Store(true)
	probe(t, sock, "/readyz")
	probe(t, sock, "/readyz")
	got := logs.String()
	if n := strings.Count(got, "health check failing"); n != 1 {
		t.Errorf("logged failing %d times, want once:\n%s", n, got)
	}
	if n := strings.Count(got, "health check recovered"); n != 1 {
		t.Errorf("logged recovery %d times, want once:\n%s", n, got)
	}
}

func TestNewServer_rejectsBadChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"duplicate", Options{Livez: []Check{{Name: "a", Run: pass}, {Name: "a", Run: pass}}}},
		{"empty name", Options{Readyz: []Check{{Name: "", Run: pass}}}},
		{"slash", Options{Readyz: []Check{{Name: "a/b", Run: pass}}}},
		{"nil func", Options{Readyz: []Check{{Name: "a"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewServer did not panic")
				}
			}()
			NewServer(tc.opts)
		})
	}
}

func TestServer_ListenAndServe(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "health.sock")

	// A socket left by a previous run that nobody listens on.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()

	s := NewServer(Options{Livez: []Check{{Name: "a", Run: pass}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, sock, 0o660) }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		status, body, err := Probe(ctx, sock, "/livez")
		if err == nil {
			if status != 200 || body != "ok" {
				t.Errorf("livez = %d %q", status, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never answered: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v, want 0660", fi.Mode().Perm())
	}

	// A second server must not steal the live socket.
	err = NewServer(Options{}).ListenAndServe(ctx, sock, 0o660)
	if !errors.Is(err, ErrSocketInUse) {
		t.Errorf("second ListenAndServe = %v, want ErrSocketInUse", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe = %v after cancel, want nil", err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still exists after shutdown: %v", err)
	}
}

func TestServer_ListenAndServe_neverRemovesAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "health.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := NewServer(Options{}).ListenAndServe(context.Background(), path, 0o660)
	if !errors.Is(err, ErrNotSocket) {
		t.Fatalf("ListenAndServe = %v, want ErrNotSocket", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Errorf("file was changed: %q", b)
	}
}
