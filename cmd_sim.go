package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

func init() {
	register(&command{name: "sim", summary: "run the SPDK simulator on a Unix socket", run: runSim})
}

func runSim(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	socket := fs.String("socket", envDefault("SPDK_SIM_SOCKET", "/tmp/spdk-sim.sock"), "Unix socket to serve on (env SPDK_SIM_SOCKET)")
	poll := fs.Duration("poll", envDuration("SPDK_SIM_POLL", 4*time.Millisecond), "emulated RPC poller period, 0 for none (env SPDK_SIM_POLL)")
	demo := fs.Bool("demo-node", envDefault("SPDK_SIM_DEMO_NODE", "") == "1", "start with the demo node's lvstores and lvols (env SPDK_SIM_DEMO_NODE=1)")
	seed := fs.Int64("seed", envInt("SPDK_SIM_SEED", 0), "seed for deterministic UUIDs, 0 for random (env SPDK_SIM_SEED)")
	stateDir := fs.String("state-dir", envDefault("SPDK_SIM_STATE_DIR", ""), "directory for the demo node's aio file (env SPDK_SIM_STATE_DIR; default: a temporary directory)")
	noDefects := fs.Bool("no-defects", false, "answer errors instead of SPDK v26.05's hangs and crashes")
	maxReply := fs.Int("max-reply", 0, "cut answers longer than this many bytes, as SPDK's send buffer does (0: SPDK's 32 MiB; -1: no cut)")
	faults := simFaults{delays: delayFlag{}}
	fs.Var(faults.delays, "delay", "delay every answer to a method: METHOD=DURATION (repeatable)")
	fs.Var(&faults.hangs, "hang", "never answer a method, while still applying it (repeatable)")
	fs.DurationVar(&faults.dropEvery, "drop-every", 0, "close every client connection this often (0: never)")
	fs.DurationVar(&faults.reattachAfter, "reattach-after", 2*time.Second, "with --demo-node, re-create the aio bdev this long after a SIGUSR2 restart")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: spdk-agent sim [flags]")
		fmt.Fprintln(fs.Output(), "\nSignals: SIGUSR1 crashes the simulated spdk_tgt (the socket stays, connects are refused);")
		fmt.Fprintln(fs.Output(), "SIGUSR2 restarts it (in-memory state gone; aio files keep their lvstores).")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *maxReply < -1 {
		return fmt.Errorf("%w: --max-reply %d: want a byte count, 0 for SPDK's or -1 for none", errUsage, *maxReply)
	}
	if faults.dropEvery < 0 || faults.reattachAfter < 0 {
		return fmt.Errorf("%w: --drop-every and --reattach-after must not be negative", errUsage)
	}
	sim, node, dir, err := startSim(ctx, *socket, spdksim.Options{PollInterval: max(*poll, -1), Seed: *seed, NoDefects: *noDefects, MaxReply: *maxReply,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}, *demo, *stateDir)
	if err != nil {
		return err
	}
	defer cleanupSim(sim, dir, *stateDir)
	faults.apply(sim)
	fctx, stopFaults := context.WithCancel(ctx)
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		faults.runFaults(fctx, sim, node)
	}()
	defer func() { stopFaults(); <-faultsDone }()
	fmt.Fprintf(os.Stderr, "spdk simulator listening on %s (poll %v, pid %d)\n", *socket, *poll, os.Getpid())
	// A crash (SIGUSR1, or a request that crashes SPDK) ends serving but
	// not the process: the socket stays stale until SIGUSR2 restarts it.
	<-ctx.Done()
	return nil
}

// startSim starts a simulator on socket, with the demo node when demo is
// set; its aio file goes to stateDir, or to a new temporary directory that
// is returned for cleanup.
func startSim(ctx context.Context, socket string, opts spdksim.Options, demo bool, stateDir string) (*spdksim.Sim, *spdksim.DemoNode, string, error) {
	if opts.PollInterval == 0 {
		opts.PollInterval = -1 // the flag's 0 means no poller
	}
	sim := spdksim.New(opts)
	var node *spdksim.DemoNode
	dir := stateDir
	if demo {
		if dir == "" {
			d, err := os.MkdirTemp("", "spdk-sim-")
			if err != nil {
				return nil, nil, "", err
			}
			dir = d
		}
		var err error
		if node, err = sim.BuildDemoNode(ctx, dir); err != nil {
			cleanupSim(sim, dir, stateDir)
			return nil, nil, "", err
		}
	}
	if err := sim.Start(ctx, socket); err != nil {
		cleanupSim(sim, dir, stateDir)
		return nil, nil, "", err
	}
	return sim, node, dir, nil
}

func cleanupSim(sim *spdksim.Sim, dir, stateDir string) {
	_ = sim.Close()
	if dir != "" && dir != stateDir {
		os.RemoveAll(dir)
	}
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(envDefault(key, "")); err == nil {
		return d
	}
	return def
}

func envInt(key string, def int64) int64 {
	if n, err := strconv.ParseInt(envDefault(key, ""), 10, 64); err == nil {
		return n
	}
	return def
}
