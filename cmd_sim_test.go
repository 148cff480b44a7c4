package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

func TestDelayFlag(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want time.Duration
	}{
		{"bdev_get_bdevs=50ms", true, 50 * time.Millisecond},
		{"bdev_lvol_delete=0s", true, 0},
		{"bdev_get_bdevs", false, 0},
		{"=5ms", false, 0},
		{"bdev_get_bdevs=soon", false, 0},
		{"bdev_get_bdevs=-1s", false, 0},
	}
	for _, tt := range tests {
		d := delayFlag{}
		err := d.Set(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("Set(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && len(d) != 1 {
			t.Errorf("Set(%q) stored %v", tt.in, d)
		}
		for _, v := range d {
			if v != tt.want {
				t.Errorf("Set(%q) = %v, want %v", tt.in, v, tt.want)
			}
		}
	}
}

// TestSimFaults_crashAndRestartSignals drives the simulator the way an
// operator would by hand: SIGUSR1 leaves a stale socket, SIGUSR2 brings a
// fresh target whose aio lvstore returns once the aio bdev is re-created,
// while the malloc one is gone for good.
func TestSimFaults_crashAndRestartSignals(t *testing.T) {
	dir, err := os.MkdirTemp("", "simsig")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := filepath.Join(dir, "spdk.sock")
	sim, node, _, err := startSim(ctx, sock, spdksim.Options{PollInterval: -1}, true, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanupSim(sim, dir, dir)

	f := simFaults{reattachAfter: 10 * time.Millisecond}
	done := make(chan struct{})
	go func() { defer close(done); f.runFaults(ctx, sim, node) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond) // let runFaults install its handler

	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "connects to be refused after SIGUSR1", func() error {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			return errors.New("the socket still accepts")
		}
		_, err = os.Stat(sock) // refused, and the socket file must stay
		return err
	})

	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the aio lvstore to come back after SIGUSR2", func() error {
		raw, err := sim.Target().Call(ctx, "bdev_lvol_get_lvstores", nil)
		if err != nil {
			return err
		}
		var stores []struct{ Name string }
		if err := json.Unmarshal(raw, &stores); err != nil {
			return err
		}
		if len(stores) != 1 || stores[0].Name != spdksim.DemoAioLvstore {
			return fmt.Errorf("lvstores %v, want only %s", stores, spdksim.DemoAioLvstore)
		}
		return nil
	})
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("socket not served after restart: %v", err)
	}
	c.Close()
}
