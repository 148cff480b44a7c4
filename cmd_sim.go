package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	sim, dir, err := startSim(ctx, *socket, spdksim.Options{PollInterval: max(*poll, -1), Seed: *seed, NoDefects: *noDefects}, *demo, *stateDir)
	if err != nil {
		return err
	}
	defer cleanupSim(sim, dir, *stateDir)
	fmt.Fprintf(os.Stderr, "spdk simulator listening on %s (poll %v)\n", *socket, *poll)
	select {
	case <-ctx.Done():
		return nil
	case <-sim.Done():
		if err := sim.Err(); !errors.Is(err, context.Canceled) {
			return fmt.Errorf("simulated spdk_tgt stopped: %w", err)
		}
		return nil
	}
}

// startSim starts a simulator on socket, with the demo node when demo is
// set; its aio file goes to stateDir, or to a new temporary directory that
// is returned for cleanup.
func startSim(ctx context.Context, socket string, opts spdksim.Options, demo bool, stateDir string) (*spdksim.Sim, string, error) {
	if opts.PollInterval == 0 {
		opts.PollInterval = -1 // the flag's 0 means no poller
	}
	sim := spdksim.New(opts)
	dir := stateDir
	if demo {
		if dir == "" {
			d, err := os.MkdirTemp("", "spdk-sim-")
			if err != nil {
				return nil, "", err
			}
			dir = d
		}
		if _, err := sim.BuildDemoNode(ctx, dir); err != nil {
			cleanupSim(sim, dir, stateDir)
			return nil, "", err
		}
	}
	if err := sim.Start(ctx, socket); err != nil {
		cleanupSim(sim, dir, stateDir)
		return nil, "", err
	}
	return sim, dir, nil
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
