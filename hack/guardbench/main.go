// Command guardbench measures what the guard costs: the latency a guarded
// bdev_lvol_delete adds over the same delete sent straight to SPDK (its
// fresh read included), and guarded deletes per second on one lvstore with
// many clients, side by side in one run. It runs on a real spdk_tgt when
// -spdk-tgt (or SPDK_TGT) names one, else on the simulator with SPDK's
// 4 ms poll.
//
//	go run ./hack/guardbench -spdk-tgt ../shared/spdk/bin/spdk_tgt -n 200 -clients 64
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/agent"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdktgt"
)

func main() {
	tgtBin := flag.String("spdk-tgt", os.Getenv(spdktgt.EnvVar), "spdk_tgt binary (empty: the simulator)")
	n := flag.Int("n", 100, "deletes per side for the latency figures")
	clients := flag.Int("clients", 64, "concurrent clients for the throughput figures")
	perClient := flag.Int("per-client", 4, "deletes per client for the throughput figures")
	flag.Parse()
	if err := run(*tgtBin, *n, *clients, *perClient); err != nil {
		fmt.Fprintln(os.Stderr, "guardbench:", err)
		os.Exit(1)
	}
}

func run(tgtBin string, n, clients, perClient int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "spdk.sock")
	backend := "simulator (4 ms poll)"
	if tgtBin != "" {
		tgt, err := spdktgt.Start(ctx, spdktgt.Options{Binary: tgtBin, Dir: dir})
		if err != nil {
			return err
		}
		defer tgt.Stop()
		sock = tgt.Socket
		backend = "spdk_tgt " + tgtBin
	} else {
		sim := spdksim.New(spdksim.Options{PollInterval: 4 * time.Millisecond})
		if err := sim.Start(ctx, sock); err != nil {
			return err
		}
		defer sim.Close()
	}
	cfg := agent.Config{SPDKSocket: sock, RPCSocket: filepath.Join(dir, "agent.sock"), StateDir: filepath.Join(dir, "state"),
		AllowUIDs: []uint32{uint32(os.Getuid())}}
	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	defer func() { stop(); <-done }()

	direct, err := spdkrpc.Dial(ctx, sock, spdkrpc.Options{})
	if err != nil {
		return err
	}
	defer direct.Close()
	var via *spdkrpc.Client
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if via, err = spdkrpc.Dial(ctx, cfg.RPCSocket, spdkrpc.Options{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return err
		}
	}
	defer via.Close()
	call := func(c *spdkrpc.Client, method, params string) (json.RawMessage, error) {
		return c.CallRaw(ctx, method, json.RawMessage(params))
	}
	if _, err := call(direct, "bdev_malloc_create", `{"name":"gb0","num_blocks":32768,"block_size":4096}`); err != nil {
		return err
	}
	if _, err := call(direct, "bdev_lvol_create_lvstore", `{"bdev_name":"gb0","lvs_name":"gb","cluster_sz":1048576,"num_md_pages_per_cluster_ratio":1000}`); err != nil {
		return err
	}
	// A realistic neighbourhood: a few chains the fresh read must list.
	for i := range 20 {
		if _, err := call(direct, "bdev_lvol_create", fmt.Sprintf(`{"lvs_name":"gb","lvol_name":"keep%d","size_in_mib":1,"thin_provision":true}`, i)); err != nil {
			return err
		}
	}
	waitSynced(ctx, via)
	create := func(name string) error {
		_, err := call(direct, "bdev_lvol_create", fmt.Sprintf(`{"lvs_name":"gb","lvol_name":%q,"size_in_mib":1,"thin_provision":true}`, name))
		return err
	}

	// Latency: one delete at a time, alternating direct and guarded.
	var lat [2][]time.Duration
	for i := range n {
		for side, c := range []*spdkrpc.Client{direct, via} {
			name := fmt.Sprintf("l%d-%d", side, i)
			if err := create(name); err != nil {
				return err
			}
			t0 := time.Now()
			if _, err := call(c, "bdev_lvol_delete", fmt.Sprintf(`{"name":"gb/%s"}`, name)); err != nil {
				return fmt.Errorf("delete %s (side %d): %w", name, side, err)
			}
			lat[side] = append(lat[side], time.Since(t0))
		}
	}
	fmt.Printf("backend: %s\n\n", backend)
	fmt.Printf("%-44s %10s %10s %10s\n", "one bdev_lvol_delete at a time", "p50", "p99", "ratio p50")
	for side, label := range []string{"direct to SPDK", "through the agent (guarded, fresh read)"} {
		p50, p99 := pct(lat[side], 50), pct(lat[side], 99)
		fmt.Printf("%-44s %10v %10v %9.2fx\n", label, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), float64(p50)/float64(pct(lat[0], 50)))
	}

	// Throughput: clients deleting their own lvols at once.
	fmt.Printf("\n%-44s %10s %10s %10s\n", fmt.Sprintf("clients x %d deletes, one lvstore", perClient), "deletes/s", "p50 wait", "p99 wait")
	for side := range 2 {
		// SPDK takes 64 connections, and the agent holds a few of them.
		nc := clients
		label := fmt.Sprintf("%d clients through the agent (guarded)", nc)
		if side == 0 {
			nc = min(clients, maxDirectClients)
			label = fmt.Sprintf("%d clients direct to SPDK", nc)
		}
		conns := make([]*spdkrpc.Client, nc)
		for k := range conns {
			sockPath := sock
			if side == 1 {
				sockPath = cfg.RPCSocket
			}
			if conns[k], err = spdkrpc.Dial(ctx, sockPath, spdkrpc.Options{}); err != nil {
				return err
			}
			for j := range perClient {
				if err := create(fmt.Sprintf("t%d-%d-%d", side, k, j)); err != nil {
					return err
				}
			}
		}
		var mu sync.Mutex
		var waits []time.Duration
		var wg sync.WaitGroup
		var firstErr error
		t0 := time.Now()
		for k, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range perClient {
					s := time.Now()
					_, err := call(c, "bdev_lvol_delete", fmt.Sprintf(`{"name":"gb/t%d-%d-%d"}`, side, k, j))
					mu.Lock()
					waits = append(waits, time.Since(s))
					if err != nil && firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		el := time.Since(t0)
		for _, c := range conns {
			c.Close()
		}
		if firstErr != nil {
			return firstErr
		}
		fmt.Printf("%-44s %10.0f %10v %10v\n", label, float64(len(waits))/el.Seconds(), pct(waits, 50).Round(100*time.Microsecond), pct(waits, 99).Round(100*time.Microsecond))
	}
	return nil
}

// maxDirectClients leaves SPDK's 64 connections room for the agent's pool,
// its follower and this tool's own client.
const maxDirectClients = 56

// waitSynced waits for the agent's first complete graph.
func waitSynced(ctx context.Context, via *spdkrpc.Client) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var st agent.Status
		if via.Call(ctx, "agent_get_status", nil, &st) == nil && st.Graph.Complete {
			return
		}
	}
}

// pct returns the p-th percentile of ds.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}
