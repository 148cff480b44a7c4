package agent

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the agent's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLog_oneLinePerConnectionEvent checks that an SPDK crash and restart
// are told once each at info level and above, not once per connection.
func TestLog_oneLinePerConnectionEvent(t *testing.T) {
	var logged syncBuffer
	n := startNode(t, nodeOpts{edit: func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}})
	n.sim.Crash()
	n.waitFor(t, "disconnected", func(s Status) bool { return !s.SPDK.Connected })
	if err := n.sim.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.waitFor(t, "reconnected and synced", func(s Status) bool { return s.SPDK.Connected && s.Graph.Synced })
	out := logged.String()
	for _, tt := range []struct {
		msg  string
		want int
	}{
		{`msg="connected to SPDK"`, 2}, // at start and after the restart
		{`msg="lost the connection to SPDK; reconnecting"`, 1},
		{"conn=pool", 0},
		{"waiting for SPDK", 0}, // the lost connection said it already
	} {
		if got := strings.Count(out, tt.msg); got != tt.want {
			t.Errorf("%s logged %d times, want %d:\n%s", tt.msg, got, tt.want, out)
		}
	}
}

func TestDebugOnly(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(debugOnly{slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})}).With("conn", "pool-0")
	log.Warn("lost the connection to SPDK")
	if got := b.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "conn=pool-0") {
		t.Errorf("logged %q, want the warning at debug level with its attributes", got)
	}
	b.Reset()
	quiet := slog.New(debugOnly{slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo})})
	quiet.Error("x")
	if b.Len() != 0 {
		t.Errorf("an info-level log shows %q", b.String())
	}
}
