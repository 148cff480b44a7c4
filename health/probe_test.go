package health

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestProbe_absentSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.sock")
	_, _, err := Probe(context.Background(), path, "/livez")
	if !errors.Is(err, ErrSocketAbsent) {
		t.Fatalf("err = %v, want ErrSocketAbsent", err)
	}
	if want := "health socket does not exist: " + path; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestProbe_staleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	_, _, err = Probe(context.Background(), path, "/livez")
	if !errors.Is(err, ErrNotListening) {
		t.Fatalf("err = %v, want ErrNotListening", err)
	}
}

func TestProbe_timeout(t *testing.T) {
	// A listener that accepts but never answers, like a wedged agent.
	path := filepath.Join(t.TempDir(), "wedged.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err = Probe(ctx, path, "livez")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
}
