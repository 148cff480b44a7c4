package agent

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// TestRun_drainsInFlightCallsOnShutdown stops the agent while a slow call
// is in flight: the call still gets SPDK's own answer, written before the
// socket closes, while new connects are refused at once.
func TestRun_drainsInFlightCallsOnShutdown(t *testing.T) {
	dir, err := os.MkdirTemp("", "agt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sim := spdksim.New(spdksim.Options{PollInterval: -1})
	ctx := context.Background()
	if err := sim.Start(ctx, filepath.Join(dir, "spdk.sock")); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a, err := New(Config{SPDKSocket: filepath.Join(dir, "spdk.sock"), RPCSocket: filepath.Join(dir, "a.sock"), StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	var c *spdkrpc.Client
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err = spdkrpc.Dial(ctx, a.cfg.RPCSocket, spdkrpc.Options{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer c.Close()
	sim.SetDelay("bdev_get_bdevs", 300*time.Millisecond)
	answer := make(chan error, 1)
	go func() { _, err := c.CallRaw(ctx, "bdev_get_bdevs", params("name", "Malloc9")); answer <- err }()
	time.Sleep(100 * time.Millisecond) // the call is in flight
	stop()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		nc, err := net.Dial("unix", a.cfg.RPCSocket)
		if err != nil {
			break
		}
		nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("the agent socket still accepts connections 5s after the stop")
		}
	}
	select {
	case err := <-answer:
		if err == nil || !errorsIsNotFound(err) {
			t.Fatalf("in-flight call during shutdown: %v, want SPDK's own answer (No such device)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the call in flight during shutdown")
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Stat(a.cfg.RPCSocket); !os.IsNotExist(err) {
		t.Errorf("agent socket left behind: %v", err)
	}
}
