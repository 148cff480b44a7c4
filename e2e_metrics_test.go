package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/health"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenMetrics is the masked /metrics of the demo node; deploy's tests
// read it to check that the alerts and the dashboard use real series.
const goldenMetrics = "testdata/metrics-e2e.golden"

// e2eSeed makes the simulator's UUIDs, and so the lvstore and bdev labels,
// the same on every run.
const e2eSeed = 7

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// agentBinary builds the real spdk-agent binary once per test run.
func agentBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "spdk-agent")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// startProcess starts bin with args; at cleanup it is sent SIGTERM and
// waited for (killed after 10 s). Its output is shown when the test fails.
// e2eSockets makes a directory for one end-to-end run, removed at the end
// of the test, and names the SPDK, agent and health sockets in it. It is
// not t.TempDir: socket paths have 107 bytes.
func e2eSockets(t *testing.T) (dir, spdkSock, rpcSock, healthSock string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir, filepath.Join(dir, "spdk.sock"), filepath.Join(dir, "agent.sock"), filepath.Join(dir, "health.sock")
}

func startProcess(t *testing.T, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s %s: %v", filepath.Base(bin), args[0], err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s %s did not stop on SIGTERM; killed", filepath.Base(bin), args[0])
		}
		if t.Failed() {
			t.Logf("output of %s %s:\n%s", filepath.Base(bin), args[0], out.String())
		}
	})
}

// TestE2E_metricsGolden runs the real binary twice, as the simulator with
// the demo node and as the agent in front of it, and compares the agent's
// masked /metrics with the golden file.
func TestE2E_metricsGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := agentBinary(t)
	dir, spdkSock, rpcSock, healthSock := e2eSockets(t)
	disk := filepath.Join(dir, "disk0")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: the agent stops before its SPDK.
	startProcess(t, bin, "sim", "--socket", spdkSock, "--demo-node", "--seed", strconv.Itoa(e2eSeed), "--state-dir", dir)
	waitFor(t, "the simulator's socket", func() error { _, err := os.Stat(spdkSock); return err })
	startProcess(t, bin, "run", "--spdk-socket", spdkSock, "--rpc-socket", rpcSock, "--health-socket", healthSock,
		"--state-dir", filepath.Join(dir, "state"), "--allow-uid", strconv.Itoa(os.Getuid()), "--disk", disk, "--node", "e2e-node")
	waitFor(t, "spdk-agent probe readyz", func() error {
		out, err := exec.Command(bin, "probe", "--socket", healthSock, "readyz").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})

	exerciseAgent(t, rpcSock)

	// The I/O counters come from a read the first full sync starts; the
	// agent is ready before that read returns.
	var body string
	waitFor(t, "the bdev I/O counters on /metrics", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		code, b, err := health.Probe(ctx, healthSock, "/metrics")
		switch {
		case err != nil:
			return err
		case code != 200:
			return fmt.Errorf("GET /metrics = %d", code)
		case !strings.Contains(b, "spdk_agent_bdev_io_bytes_total{"):
			return errors.New("no spdk_agent_bdev_io_bytes_total series yet")
		}
		body = b
		return nil
	})
	got := maskMetrics(body)
	if *update {
		if err := os.WriteFile(goldenMetrics, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenMetrics)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("/metrics differs from %s (run with -update to accept):\n%s", goldenMetrics, lineDiff(string(want), got))
	}
}

// exerciseAgent makes one guard refusal and one failing forwarded call
// through the agent's socket, so that the guard and RPC error metrics the
// alerts use have a series in the golden file.
func exerciseAgent(t *testing.T, rpcSock string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := spdkrpc.Dial(ctx, rpcSock, spdkrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stores, err := c.GetLvstores(ctx, spdkrpc.LvsByName(spdksim.DemoMallocLvstore))
	if err != nil {
		t.Fatal(err)
	}
	var image string
	for _, s := range stores {
		if s.Name == spdksim.DemoMallocLvstore {
			image = fmt.Sprintf("%s/bi-ubuntu-disk-%s", s.Name, s.UUID)
		}
	}
	if image == "" {
		t.Fatalf("no lvstore %s in %+v", spdksim.DemoMallocLvstore, stores)
	}
	err = c.DeleteLvol(ctx, spdkrpc.LvolRef(image))
	var se *spdkrpc.Error
	if !errors.As(err, &se) || !strings.Contains(se.Message, "backing-image") {
		t.Fatalf("deleting the shared image %s through the agent: %v, want a backing-image refusal", image, err)
	}
	if _, err := c.GetBdevs(ctx, spdkrpc.GetBdevsParams{Name: "no-such-bdev"}); !errors.Is(err, spdkrpc.ErrNotFound) {
		t.Fatalf("bdev_get_bdevs of an unknown bdev: %v, want not found", err)
	}
}

// waitFor retries f for up to 10 s.
func waitFor(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	// volatileFamily are families left out entirely: the Go runtime's and
	// the process's own figures change with every run.
	volatileFamily = regexp.MustCompile(`^(# (HELP|TYPE) )?(go|process)_`)
	// volatileLabels are build details that change with the toolchain.
	volatileLabels = regexp.MustCompile(`(version|goversion)="[^"]*"`)
	// volatileValue are series whose value depends on timing: ages and
	// the RPC durations' sums and counts (the notification polls run
	// on a timer).
	volatileValue = regexp.MustCompile(`^(spdk_agent_graph_age_seconds|spdk_agent_spdk_rpc_duration_seconds_(sum|count))\b`)
	// bucketLine is a histogram bucket: how calls fall into buckets
	// depends on timing, so the buckets are dropped (their family's
	// # TYPE line and the _count series stay).
	bucketLine = regexp.MustCompile(`^spdk_agent_[a-z_]+_bucket\{`)
)

// maskMetrics removes or masks what changes between runs of the same
// scenario, and keeps everything else byte for byte.
func maskMetrics(body string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		switch {
		case volatileFamily.MatchString(line), bucketLine.MatchString(line):
			continue
		case strings.HasPrefix(line, "spdk_agent_build_info"):
			line = volatileLabels.ReplaceAllString(line, `$1="<masked>"`)
		case volatileValue.MatchString(line):
			if i := strings.LastIndexByte(line, ' '); i > 0 {
				line = line[:i] + " <masked>"
			}
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
