package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// delayFlag collects repeated --delay METHOD=DURATION values.
type delayFlag map[string]time.Duration

func (d delayFlag) String() string {
	parts := make([]string, 0, len(d))
	for m, v := range d {
		parts = append(parts, m+"="+v.String())
	}
	return strings.Join(parts, ",")
}

func (d delayFlag) Set(s string) error {
	method, dur, ok := strings.Cut(s, "=")
	if !ok || method == "" {
		return fmt.Errorf("want METHOD=DURATION, got %q", s)
	}
	v, err := time.ParseDuration(dur)
	if err != nil || v < 0 {
		return fmt.Errorf("bad duration %q for %s: want a non-negative Go duration like 50ms", dur, method)
	}
	d[method] = v
	return nil
}

// simFaults are the faults a simulator started from the command line runs
// with, so that an operator can watch the agent ride them out by hand.
type simFaults struct {
	delays    delayFlag
	hangs     listFlag
	dropEvery time.Duration
	// reattachAfter is how long after a restart the demo node's aio bdev is
	// created again, as the component that owns the disks would: its
	// lvstore comes back only then (a restarted spdk_tgt has no bdevs).
	reattachAfter time.Duration
}

func (f *simFaults) apply(sim *spdksim.Sim) {
	for m, d := range f.delays {
		sim.SetDelay(m, d)
	}
	for _, m := range f.hangs {
		sim.SetHang(m, true)
	}
}

// runFaults drops connections every dropEvery, crashes the simulator on
// SIGUSR1 (connections close, the socket file stays: like a crashed
// spdk_tgt) and restarts it on SIGUSR2 (all in-memory state gone; aio files
// keep their lvstores). It returns when ctx ends.
func (f *simFaults) runFaults(ctx context.Context, sim *spdksim.Sim, demo *spdksim.DemoNode) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	var drop <-chan time.Time
	if f.dropEvery > 0 {
		t := time.NewTicker(f.dropEvery)
		defer t.Stop()
		drop = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-drop:
			sim.DropConnections()
		case s := <-sigs:
			if s == syscall.SIGUSR1 {
				fmt.Fprintln(os.Stderr, "SIGUSR1: simulated crash (the socket stays, connects are refused; SIGUSR2 restarts)")
				sim.Crash()
				continue
			}
			fmt.Fprintln(os.Stderr, "SIGUSR2: simulated restart (in-memory state is gone)")
			if err := sim.Restart(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "restart: %v\n", err)
				continue
			}
			if demo != nil {
				f.reattach(ctx, sim, demo)
			}
		}
	}
}

// reattach re-creates the demo node's aio bdev after reattachAfter, so the
// lvstore on it is examined and comes back.
func (f *simFaults) reattach(ctx context.Context, sim *spdksim.Sim, demo *spdksim.DemoNode) {
	select {
	case <-time.After(f.reattachAfter):
	case <-ctx.Done():
		return
	}
	params := map[string]any{"name": spdksim.DemoAioBdev, "filename": demo.AioFile, "block_size": 4096}
	if _, err := sim.Target().Call(ctx, "bdev_aio_create", params); err != nil {
		fmt.Fprintf(os.Stderr, "re-creating %s: %v\n", spdksim.DemoAioBdev, err)
		return
	}
	fmt.Fprintf(os.Stderr, "re-created aio bdev %s: lvstore %s is back, %s is gone with its malloc bdev\n",
		spdksim.DemoAioBdev, spdksim.DemoAioLvstore, spdksim.DemoMallocLvstore)
}
