package spdktgt

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// The package's shared target, started by the first Shared and stopped by
// Main.
var shared struct {
	mu  sync.Mutex
	tgt *Target
	err error // a start that failed fails every later test at once
}

// SharedMemMB is the shared target's memory: enough for the 256 MiB
// malloc lvstore of the demo node and a few more bdevs.
const SharedMemMB = 2048

// Main runs a test package's tests and then stops its shared target. Use
// it from TestMain: os.Exit(spdktgt.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	if shared.tgt != nil {
		shared.tgt.Stop()
		shared.tgt = nil
	}
	shared.mu.Unlock()
	return code
}

// Shared returns the package's real target, empty, skipping the test when
// the tier is off. Tests that share it must not run in parallel with each
// other (they would empty it under one another). A test that found the
// target dead or wedged gets a fresh one.
func Shared(t testing.TB) *Target {
	t.Helper()
	bin := binaryOrSkip(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != nil {
		t.Fatalf("spdktgt: the shared target did not start: %v", shared.err)
	}
	ctx := context.Background()
	if shared.tgt == nil {
		shared.tgt, shared.err = Start(ctx, Options{Binary: bin, MemMB: SharedMemMB})
		if shared.err != nil {
			t.Fatalf("spdktgt: %v", shared.err)
		}
		return shared.tgt
	}
	if err := shared.tgt.Reset(ctx); err != nil {
		shared.err = err
		t.Fatalf("spdktgt: reset the shared target: %v", err)
	}
	return shared.tgt
}

// Fresh starts a target of the test's own, stopped when the test ends; for
// tests that crash or restart it. Mind the two-targets-at-once limit: a
// package that uses Fresh should not hold its Shared one at the same time.
func Fresh(t testing.TB, opts Options) *Target {
	t.Helper()
	bin := binaryOrSkip(t)
	if opts.Binary == "" {
		opts.Binary = bin
	}
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "tgt")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		opts.Dir = d
	}
	tgt, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("spdktgt: %v", err)
	}
	t.Cleanup(tgt.Stop)
	return tgt
}

// binaryOrSkip returns the binary, skips the test when the tier is off,
// and fails it when SPDK_TGT is set but wrong.
func binaryOrSkip(t testing.TB) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	if bin == "" {
		t.Skip(SkipMessage)
	}
	return bin
}

// Enabled reports whether the tier is on (SPDK_TGT is set).
func Enabled() bool { return os.Getenv(EnvVar) != "" }

// Client returns a client of the target, closed when the test ends.
func (t *Target) Client(tb testing.TB) *spdkrpc.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := spdkrpc.Dial(ctx, t.Socket, spdkrpc.Options{})
	if err != nil {
		tb.Fatalf("spdktgt: dial %s: %v\n%s", t.Socket, err, t.logTail())
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// RequireAlive fails the test when the target died, quoting its log.
func (t *Target) RequireAlive(tb testing.TB) {
	tb.Helper()
	if !t.Alive() {
		tb.Fatalf("spdk_tgt (pid %d) is dead; its log ends:\n%s", t.PID(), t.logTail())
	}
}

// String names the target for messages.
func (t *Target) String() string { return fmt.Sprintf("spdk_tgt pid %d on %s", t.PID(), t.Socket) }
