// Command difftest runs the differential tester: seeded random sequences
// of lvol and bdev calls, each sent to the SPDK simulator and to a fresh
// real spdk_tgt, reporting the first step at which they differ.
//
//	go run ./hack/difftest -spdk-tgt ../shared/spdk/bin/spdk_tgt -seeds 20 -steps 300
//	go run ./hack/difftest -seed 7 -steps 300   # one seed
//
// The target is restarted before every seed. It exits 1 when any seed
// differs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim/difftest"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdktgt"
)

func main() {
	seeds := flag.Int("seeds", 20, "how many seeds to run, from -first")
	first := flag.Int64("first", 1, "the first seed of -seeds")
	seed := flag.Int64("seed", 0, "run this one seed only")
	steps := flag.Int("steps", 300, "steps per seed")
	every := flag.Int("state-every", 1, "compare the whole state every N steps")
	bin := flag.String("spdk-tgt", os.Getenv(spdktgt.EnvVar), "the spdk_tgt binary (default $"+spdktgt.EnvVar+")")
	keepGoing := flag.Bool("k", false, "run every seed even after a difference")
	verbose := flag.Bool("v", false, "show every step before a difference with its reply, and the simulator's state before it")
	minimize := flag.Bool("minimize", false, "shrink the steps that lead to the first difference (slow: one run per try)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "difftest: name an spdk_tgt with -spdk-tgt or $"+spdktgt.EnvVar)
		os.Exit(2)
	}
	list := make([]int64, 0, *seeds)
	if *seed != 0 {
		list = append(list, *seed)
	} else {
		for i := range int64(*seeds) {
			list = append(list, *first+i)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code, err := run(ctx, *bin, list, *steps, *every, *keepGoing, *verbose, *minimize)
	if err != nil {
		fmt.Fprintln(os.Stderr, "difftest:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(ctx context.Context, bin string, seeds []int64, steps, every int, keepGoing, verbose, minimize bool) (int, error) {
	start := time.Now()
	tgt, err := spdktgt.Start(ctx, spdktgt.Options{Binary: bin})
	if err != nil {
		return 0, err
	}
	defer tgt.Stop()
	code, total, differing := 0, 0, 0
	for i, s := range seeds {
		if i > 0 {
			if err := tgt.Restart(ctx); err != nil {
				return 0, err
			}
		}
		dir, err := os.MkdirTemp("", "difftest")
		if err != nil {
			return 0, err
		}
		cfg := difftest.Config{Seed: s, Steps: steps, Real: tgt.Socket, Dir: dir, StateEvery: every}
		if verbose {
			cfg.History = -1 // every step with its reply
		}
		res, err := difftest.Run(ctx, cfg)
		os.RemoveAll(dir)
		if err != nil {
			return 0, fmt.Errorf("seed %d: %w", s, err)
		}
		total += res.Steps
		if res.Diff != nil {
			differing++
			code = 1
			fmt.Print(res.Diff)
			if verbose {
				fmt.Println("  simulator state before the step:")
				for _, l := range res.Diff.Before {
					fmt.Println("   ", l)
				}
			}
			if !tgt.Alive() {
				fmt.Printf("  spdk_tgt died; its log ends:\n%s\n", tgt.LogTail())
			} else if verbose {
				fmt.Printf("  spdk_tgt's log ends:\n%s\n", tgt.LogTail())
			}
			if minimize {
				if err := shrink(ctx, tgt, s, res.Sent, every, res.Diff); err != nil {
					return 0, err
				}
			}
			if !keepGoing {
				break
			}
			continue
		}
		fmt.Printf("seed %d: %d steps, %d state checks, no difference (%.1fs)\n", s, res.Steps, res.StateChecks, res.Elapsed.Seconds())
	}
	fmt.Printf("%d seeds, %d steps, %d differing, %.1fs\n", len(seeds), total, differing, time.Since(start).Seconds())
	return code, nil
}

// shrink prints a shorter sequence whose last step still differs the same
// way: the same two replies, or a difference in the same listing (whose
// elements name UUIDs by tokens that shift as steps go).
func shrink(ctx context.Context, tgt *spdktgt.Target, seed int64, sent []difftest.Step, every int, want *difftest.Diff) error {
	same := func(d *difftest.Diff) bool {
		if d.State != "" || want.State != "" {
			listing, _, _ := strings.Cut(d.State, ",")
			wantListing, _, _ := strings.Cut(want.State, ",")
			return d.State != "" && listing == wantListing
		}
		return d.Sim == want.Sim && d.Real == want.Real
	}
	try := func(ctx context.Context, script []difftest.Step) (bool, error) {
		if err := tgt.Restart(ctx); err != nil {
			return false, err
		}
		dir, err := os.MkdirTemp("", "difftest")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(dir)
		res, err := difftest.Run(ctx, difftest.Config{Seed: seed, Steps: len(script), Real: tgt.Socket, Dir: dir, StateEvery: every, Script: script})
		if errors.Is(err, difftest.ErrToken) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return res.Diff != nil && res.Steps == len(script) && same(res.Diff), nil
	}
	min, err := difftest.Minimize(ctx, sent, try)
	if err != nil {
		return err
	}
	fmt.Printf("  %d steps that still differ so:\n", len(min))
	for _, st := range min {
		fmt.Println("   ", st)
	}
	return nil
}
