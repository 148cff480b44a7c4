// Command scalebench measures the agent on large nodes: for each lvol count
// it fills a target with thin lvols, starts the built agent as its own
// process and reports the time to its first complete graph, its resident
// memory, the size and time of one /metrics scrape, and what another client
// of SPDK saw meanwhile (spdk_get_version p50/p99 while the agent synced,
// beside the same figures on the idle target, measured in the same run). It
// runs on a real spdk_tgt when -spdk-tgt (or SPDK_TGT) names one, else on
// the simulator with SPDK's 4 ms poll and 32 MiB send buffer.
//
//	go run ./hack/scalebench -lvols 10000,25000
//	go run ./hack/scalebench -spdk-tgt ../shared/spdk/bin/spdk_tgt -lvols 35000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spdk-agent/spdk-agent/health"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdktgt"
)

func main() {
	tgtBin := flag.String("spdk-tgt", os.Getenv(spdktgt.EnvVar), "spdk_tgt binary (empty: the simulator)")
	counts := flag.String("lvols", "10000", "comma-separated lvol counts, one node each")
	stores := flag.Int("lvstores", 4, "lvstores the lvols are spread over")
	agentBin := flag.String("agent", "", "spdk-agent binary (default: built from this checkout)")
	modes := flag.String("modes", "auto", "comma-separated ways the agent reads: auto (its default), whole, parts")
	wait := flag.Duration("wait", 3*time.Minute, "how long to wait for the agent's first complete graph")
	flag.Parse()
	var ms []string
	for _, m := range strings.Split(*modes, ",") {
		if _, ok := modeFlags[m]; !ok {
			fmt.Fprintf(os.Stderr, "scalebench: -modes %q: want auto, whole or parts\n", *modes)
			os.Exit(2)
		}
		ms = append(ms, m)
	}
	var ns []int
	for _, f := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "scalebench: -lvols %q: want positive counts\n", *counts)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	if *stores < 1 {
		fmt.Fprintln(os.Stderr, "scalebench: -lvstores must be at least 1")
		os.Exit(2)
	}
	if err := run(*tgtBin, *agentBin, ns, *stores, ms, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

// modeFlags are the agent's flags for each way of reading.
var modeFlags = map[string][]string{
	"auto":  nil,
	"whole": {"--read-in-parts-above", "1000000000"},
	"parts": {"--read-in-parts-above", "1"},
}

func run(tgtBin, agentBin string, counts []int, stores int, modes []string, wait time.Duration) error {
	dir, err := os.MkdirTemp("", "sbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if agentBin == "" {
		agentBin = filepath.Join(dir, "spdk-agent")
		if out, err := exec.Command("go", "build", "-o", agentBin, ".").CombinedOutput(); err != nil {
			return fmt.Errorf("building the agent: %v\n%s", err, out)
		}
	}
	backend := "simulator (4 ms poll, 32 MiB send buffer)"
	if tgtBin != "" {
		backend = "spdk_tgt " + tgtBin
	}
	fmt.Printf("backend: %s; lvols spread over %d lvstores\n\n", backend, stores)
	fmt.Println("| lvols | agent reads | fill | first complete graph | agent RSS | RSS per lvol | other client p50 / p99 idle | during the sync | one /metrics scrape |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, n := range counts {
		rs, err := one(tgtBin, agentBin, filepath.Join(dir, strconv.Itoa(n)), n, stores, modes, wait)
		if err != nil {
			return fmt.Errorf("%d lvols: %w", n, err)
		}
		for _, r := range rs {
			graph, rss, per, scrape := "none in "+wait.String(), "-", "-", "-"
			if r.complete {
				graph = r.firstGraph.Round(time.Millisecond).String()
				rss, per = fmt.Sprintf("%.0f MiB", float64(r.rss)/(1<<20)), fmt.Sprintf("%.1f KiB", float64(r.rss)/float64(n)/1024)
				scrape = fmt.Sprintf("%.0f KB in %v", float64(r.metricsBytes)/1000, r.scrape.Round(100*time.Microsecond))
			}
			fmt.Printf("| %d | %s | %v | %s | %s | %s | %v / %v | %v / %v | %s |\n", n, r.mode, r.fill.Round(time.Second), graph, rss, per,
				pct(r.idle, 50), pct(r.idle, 99), pct(r.during, 50), pct(r.during, 99), scrape)
		}
	}
	return nil
}

type result struct {
	mode             string
	fill, firstGraph time.Duration
	complete         bool
	rss              int64
	metricsBytes     int
	scrape           time.Duration
	idle, during     []time.Duration
}

// one fills a new target with n lvols and runs the agent on it once per
// mode, each with a new state directory.
func one(tgtBin, agentBin, dir string, n, stores int, modes []string, wait time.Duration) ([]result, error) {
	var r result
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "spdk.sock")
	if tgtBin != "" {
		tgt, err := spdktgt.Start(ctx, spdktgt.Options{Binary: tgtBin, Dir: dir, MemMB: 2048})
		if err != nil {
			return nil, err
		}
		defer tgt.Stop()
		sock = tgt.Socket
	} else {
		sim := spdksim.New(spdksim.Options{PollInterval: 4 * time.Millisecond})
		if err := sim.Start(ctx, sock); err != nil {
			return nil, err
		}
		defer sim.Close()
	}
	c, err := spdkrpc.Dial(ctx, sock, spdkrpc.Options{MaxInFlight: 512})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	start := time.Now()
	if err := fill(ctx, c, dir, n, stores); err != nil {
		return nil, err
	}
	r.fill = time.Since(start)

	probe, err := spdkrpc.Dial(ctx, sock, spdkrpc.Options{})
	if err != nil {
		return nil, err
	}
	defer probe.Close()
	if r.idle, err = probeFor(ctx, probe, 300, nil); err != nil {
		return nil, err
	}

	var out []result
	for i, mode := range modes {
		m := r
		m.mode = mode
		if err := runAgent(ctx, agentBin, sock, filepath.Join(dir, fmt.Sprintf("agent%d", i)), modeFlags[mode], wait, probe, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// runAgent starts the agent, probes SPDK from another client until the
// agent's graph is complete (or wait passes), and reads its resident set.
func runAgent(ctx context.Context, agentBin, sock, dir string, flags []string, wait time.Duration, probe *spdkrpc.Client, r *result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	agentSock, healthSock := filepath.Join(dir, "agent.sock"), filepath.Join(dir, "health.sock")
	args := append([]string{"run", "--spdk-socket", sock, "--rpc-socket", agentSock, "--health-socket", healthSock,
		"--state-dir", filepath.Join(dir, "state"), "--allow-uid", strconv.Itoa(os.Getuid())}, flags...)
	cmd := exec.Command(agentBin, args...)
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	var synced atomic.Bool
	var wg sync.WaitGroup
	var probeErr error
	wg.Go(func() { r.during, probeErr = probeFor(ctx, probe, 0, &synced) })
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		synced.Store(true)
		wg.Wait()
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	err = waitComplete(ctx, agentSock, wait)
	r.firstGraph = time.Since(t0)
	synced.Store(true)
	wg.Wait()
	if probeErr != nil {
		return probeErr
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "scalebench: %v (agent log: %s)\n", err, logf.Name())
		return nil
	}
	r.complete = true
	// Settle (the I/O counters are read after the first sync), scrape
	// once, then read the steady resident set.
	time.Sleep(2 * time.Second)
	t1 := time.Now()
	code, body, err := health.Probe(ctx, healthSock, "/metrics")
	r.scrape, r.metricsBytes = time.Since(t1), len(body)
	if err != nil || code != 200 {
		return fmt.Errorf("scraping /metrics: %d %v", code, err)
	}
	r.rss, err = rssOf(cmd.Process.Pid)
	return err
}

// fill makes stores lvstores and n thin lvols spread over them, many
// creates in flight at once.
func fill(ctx context.Context, c *spdkrpc.Client, dir string, n, stores int) error {
	call := func(method, params string) error {
		_, err := c.CallRaw(ctx, method, json.RawMessage(params))
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, params, err)
		}
		return nil
	}
	per := (n + stores - 1) / stores
	for s := range stores {
		// A sparse file per lvstore: 1 MiB clusters, metadata pages for
		// every lvol and room to spare.
		f := filepath.Join(dir, fmt.Sprintf("lvs%d.img", s))
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return err
		}
		clusters := max(4*per, 4096)
		if err := os.Truncate(f, int64(clusters)<<20); err != nil {
			return err
		}
		if err := call("bdev_aio_create", fmt.Sprintf(`{"name":"aio%d","filename":%q,"block_size":4096}`, s, f)); err != nil {
			return err
		}
		ratio := min(max(200*per/clusters+1, 100), 1000)
		if err := call("bdev_lvol_create_lvstore", fmt.Sprintf(`{"bdev_name":"aio%d","lvs_name":"lvs%d","cluster_sz":1048576,"num_md_pages_per_cluster_ratio":%d,"clear_method":"none"}`, s, s, ratio)); err != nil {
			return err
		}
	}
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 256 {
		wg.Go(func() {
			for i := range jobs {
				err := call("bdev_lvol_create", fmt.Sprintf(`{"lvs_name":"lvs%d","lvol_name":"v%06d","size_in_mib":1,"thin_provision":true}`, i%stores, i))
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err = <-errs:
	default:
	}
	return err
}

// probeFor times spdk_get_version calls, one at a time: count of them, or
// until stop is set.
func probeFor(ctx context.Context, c *spdkrpc.Client, count int, stop *atomic.Bool) ([]time.Duration, error) {
	var out []time.Duration
	for i := 0; count == 0 || i < count; i++ {
		if stop != nil && stop.Load() {
			break
		}
		t := time.Now()
		if _, err := c.CallRaw(ctx, "spdk_get_version", nil); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}

// waitComplete polls the agent's status until its graph is complete.
func waitComplete(ctx context.Context, sock string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if c, err := spdkrpc.Dial(ctx, sock, spdkrpc.Options{}); err == nil {
			var st struct {
				Graph struct {
					Complete bool `json:"complete"`
				} `json:"graph"`
			}
			err = c.Call(ctx, "agent_get_status", nil, &st)
			c.Close()
			if err == nil && st.Graph.Complete {
				return nil
			}
			last = err
		} else {
			last = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no complete graph after %v (last: %v)", limit, last)
}

// rssOf reads a process's resident set from /proc.
func rssOf(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(10 * time.Microsecond)
}
