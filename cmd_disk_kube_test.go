package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/diskid/kubereg"
	"github.com/spdk-agent/spdk-agent/health"
	"github.com/spdk-agent/spdk-agent/internal/kubetest"
)

var (
	crashRuns = flag.Int("kube-crash-runs", 100, "processes TestDiskKube_killNineNeverHalfClaims kills with -9")
	crashSeed = flag.Uint64("kube-crash-seed", 0, "seed of the kill -9 rounds; 0: from the clock")
)

// Environment of a test binary re-run as the spdk-agent command.
const (
	envRunMain = "SPDK_AGENT_TEST_RUN_MAIN" // "1": run main with the arguments
	envCrashAt = "SPDK_AGENT_TEST_CRASH_AT" // "STEP:N": SIGKILL at the Nth STEP
)

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		if at := os.Getenv(envCrashAt); at != "" {
			step, n, _ := strings.Cut(at, ":")
			count, _ := strconv.Atoi(n)
			diskStepHook = func(s string) {
				if s == step {
					if count--; count == 0 {
						_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
					}
				}
			}
		}
		os.Exit(runMain(context.Background(), os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

// spdkAgent runs this test binary as the spdk-agent command.
func spdkAgent(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), envRunMain+"=1"), env...)
	return cmd
}

// kubeDiskArgs are the flags of a disk command against api.
func kubeDiskArgs(kubeconfig, node string, prefixLen int) []string {
	return []string{"--registry", "kube", "--kubeconfig", kubeconfig, "--node", node, "--prefix-len", strconv.Itoa(prefixLen)}
}

// claimsIn lists the claims, by prefix.
func claimsIn(t *testing.T, c kubernetes.Interface) map[string]diskid.ClaimSpec {
	t.Helper()
	list, err := c.CoordinationV1().Leases("default").List(context.Background(), metav1.ListOptions{LabelSelector: kubereg.LabelKind})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]diskid.ClaimSpec{}
	for i := range list.Items {
		cl, err := kubereg.ParseLease(&list.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		out[cl.Prefix] = cl
	}
	return out
}

func makeDirs(t *testing.T, root string, n int) []string {
	var ds []string
	for i := range n {
		d := filepath.Join(root, fmt.Sprintf("d%03d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

// Four nodes initialising 64 disks each at once fill the 256 two-digit
// prefixes exactly; a 257th disk is refused and nothing changes.
func TestDiskKube_fourNodesFillPrefixSpace(t *testing.T) {
	api := kubetest.Start(t)
	nodes := []string{"node-0", "node-1", "node-2", "node-3"}
	api.CreateNodes(t, nodes...)
	kc := api.Kubeconfig(t, "default")
	root := t.TempDir()
	dirs := map[string][]string{}
	for _, n := range nodes {
		dirs[n] = makeDirs(t, filepath.Join(root, n), 64)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	outs := make([][]byte, len(nodes))
	for i, n := range nodes {
		wg.Go(func() {
			args := append(append([]string{"disk", "init"}, dirs[n]...), kubeDiskArgs(kc, n, 2)...)
			outs[i], errs[i] = spdkAgent(nil, append(args, "-o", "json")...).CombinedOutput()
		})
	}
	wg.Wait()
	t.Logf("4 processes x 64 disks initialised in %v", time.Since(start).Round(time.Millisecond))
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("%s: %v\n%s", nodes[i], errs[i], outs[i])
		}
	}
	claims := claimsIn(t, api.Client(t))
	if len(claims) != 256 {
		t.Fatalf("%d claims, want 256", len(claims))
	}
	prefixes := map[string]string{}
	for _, n := range nodes {
		for _, d := range dirs[n] {
			id, err := diskid.ReadIdentity(d)
			if err != nil {
				t.Fatal(err)
			}
			p := id.UUID.Prefix(2)
			if other, dup := prefixes[p]; dup {
				t.Fatalf("prefix %s on %s and %s", p, other, d)
			}
			prefixes[p] = d
			if c := claims[p]; c.UUID != id.UUID || c.Node != n || c.Disk != d || id.ClaimPending {
				t.Fatalf("%s (%s, pending %v): claim %+v", d, id.UUID, id.ClaimPending, c)
			}
		}
	}

	extra := makeDirs(t, filepath.Join(root, "extra"), 1)[0]
	out, err := spdkAgent(nil, append([]string{"disk", "init", extra}, kubeDiskArgs(kc, "node-0", 2)...)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "prefix space nearly full") || !strings.Contains(string(out), "256 of 256") {
		t.Fatalf("257th init: %v\n%s", err, out)
	}
	t.Logf("257th init: %s", strings.TrimSpace(string(out)))
	if _, err := diskid.ReadIdentity(extra); !os.IsNotExist(err) && !strings.Contains(fmt.Sprint(err), "missing") {
		t.Fatalf("the refused disk has an identity: %v", err)
	}
	if after := claimsIn(t, api.Client(t)); len(after) != 256 {
		t.Fatalf("%d claims after the refused init", len(after))
	}
}

// Killing init and regenerate at any step never leaves a claim without the
// disk naming it, or a disk without its claim, once the next command ran.
func TestDiskKube_killNineNeverHalfClaims(t *testing.T) {
	api := kubetest.Start(t)
	api.CreateNodes(t, "crash")
	kc := api.Kubeconfig(t, "default")
	client := api.Client(t)
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (-kube-crash-seed to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	root := t.TempDir()
	dirs := makeDirs(t, root, 6)
	flags := kubeDiskArgs(kc, "crash", 3)
	steps := []string{diskid.StepPendingWritten, diskid.StepClaimed, diskid.StepReleased, diskid.StepDone}
	killed, kills := map[string]int{}, 0
	// Rounds go on until -kube-crash-runs processes were killed: a round
	// whose step does not come (a second claim without a collision, a
	// release in an init) runs to its end.
	round := 0
	for ; kills < *crashRuns && round < 10**crashRuns; round++ {
		d := dirs[rng.IntN(len(dirs))]
		if rng.IntN(3) == 0 { // a new disk, for inits as often as regenerates
			d = makeDirs(t, filepath.Join(root, strconv.Itoa(round)), 1)[0]
			dirs = append(dirs, d)
		}
		args := []string{"disk", "init", d}
		if _, err := diskid.ReadIdentity(d); err == nil && rng.IntN(3) > 0 {
			args = []string{"disk", "regenerate", d, "--force"}
		}
		n := 1
		if rng.IntN(8) == 0 {
			n = 2
		}
		at := fmt.Sprintf("%s:%d", steps[rng.IntN(len(steps))], n)
		err := spdkAgent([]string{envCrashAt + "=" + at}, append(args, flags...)...).Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ProcessState.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
			killed[args[1]+"@"+at]++
			kills++
		} else if err != nil {
			t.Fatalf("round %d: %s at %s: %v", round, args[1], at, err)
		}
		// The next start: a listing checks every disk, which finishes
		// pending claims and releases stale ones.
		listArgs := []string{"disk", "list", "-o", "json"}
		for _, dd := range dirs {
			listArgs = append(listArgs, "--disk", dd)
		}
		out, err := spdkAgent(nil, append(listArgs, flags...)...).Output()
		if err != nil {
			t.Fatalf("round %d: list: %v\n%s", round, err, out)
		}
		var rep struct{ Disks []diskid.DiskStatus }
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatal(err)
		}
		checkClaimsMatchDisks(t, round, client, dirs)
	}
	t.Logf("%d rounds, %d killed: %v", round, kills, killed)
}

// checkClaimsMatchDisks: every identity is claimed and not pending, every
// claim names a disk holding its UUID.
func checkClaimsMatchDisks(t *testing.T, round int, client kubernetes.Interface, dirs []string) {
	t.Helper()
	claims := claimsIn(t, client)
	held := map[string]bool{}
	for _, d := range dirs {
		id, err := diskid.ReadIdentity(d)
		if err != nil {
			continue // killed before the identity was written
		}
		p := id.UUID.Prefix(3)
		if id.ClaimPending || claims[p].UUID != id.UUID || claims[p].Disk != d {
			t.Fatalf("round %d: disk %s (%s, pending %v) without its claim: %+v", round, d, id.UUID, id.ClaimPending, claims[p])
		}
		held[p] = true
	}
	for p, c := range claims {
		if !held[p] {
			t.Fatalf("round %d: claim %s (%s on %s) names no disk holding it", round, p, c.UUID, c.Disk)
		}
	}
}

// The agent with --registry kube claims its disk and the lvstores, shows
// the claims in disk list and the metrics, and releases a forgotten disk's
// claim.
func TestE2E_agentRegistryKube(t *testing.T) {
	api := kubetest.Start(t)
	api.CreateNodes(t, "e2e-node")
	kc := api.Kubeconfig(t, "default")
	bin := agentBinary(t)
	dir, spdkSock, rpcSock, healthSock := e2eSockets(t)
	disks := makeDirs(t, dir, 2)
	startProcess(t, bin, "sim", "--socket", spdkSock, "--demo-node", "--seed", "3", "--state-dir", dir)
	waitFor(t, "the simulator's socket", func() error { _, err := os.Stat(spdkSock); return err })
	startProcess(t, bin, "run", "--spdk-socket", spdkSock, "--rpc-socket", rpcSock, "--health-socket", healthSock,
		"--state-dir", filepath.Join(dir, "state"), "--allow-uid", strconv.Itoa(os.Getuid()), "--disk", disks[0],
		"--node", "e2e-node", "--registry", "kube", "--kubeconfig", kc)
	waitFor(t, "spdk-agent probe readyz", func() error {
		out, err := exec.Command(bin, "probe", "--socket", healthSock, "readyz").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
	client := api.Client(t)
	// The demo node's two lvstores and the disk.
	waitFor(t, "three claims", func() error {
		if n := len(claimsIn(t, client)); n != 3 {
			return fmt.Errorf("%d claims", n)
		}
		return nil
	})
	out, err := exec.Command(bin, "disk", "init", disks[1], "--socket", rpcSock).CombinedOutput()
	if err != nil {
		t.Fatalf("disk init through the agent: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "disk", "list", "--socket", rpcSock, "-o", "json").Output()
	if err != nil {
		t.Fatalf("disk list: %v", err)
	}
	var rep struct {
		Disks    []diskid.DiskStatus
		Registry diskid.RegistryInfo
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Registry.Mode != "kube" || rep.Registry.Disks != 4 || rep.Registry.Stale {
		t.Errorf("registry: %+v", rep.Registry)
	}
	claims := claimsIn(t, client)
	for _, d := range rep.Disks {
		if d.Claim != diskid.ClaimHeld || claims[d.Prefix].UUID != d.UUID || claims[d.Prefix].Node != "e2e-node" {
			t.Errorf("disk %+v: claim %+v", d, claims[d.Prefix])
		}
	}
	waitFor(t, "the registry metrics", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, b, err := health.Probe(ctx, healthSock, "/metrics")
		if err != nil {
			return err
		}
		for _, want := range []string{`spdk_agent_disk_registry_info{source="kube"} 1`, "spdk_agent_disk_registry_synced 1", "spdk_agent_disk_registry_disks 4"} {
			if !strings.Contains(b, want) {
				return fmt.Errorf("no %q in /metrics", want)
			}
		}
		return nil
	})
	id, err := diskid.ReadIdentity(disks[1])
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "call", "--socket", rpcSock, "agent_disk_forget", fmt.Sprintf(`{"path":%q}`, disks[1])).CombinedOutput(); err != nil {
		t.Fatalf("forget: %v\n%s", err, out)
	}
	if c, ok := claimsIn(t, client)[id.UUID.Prefix(diskid.DefaultPrefixLen)]; ok {
		t.Errorf("the forgotten disk's claim is still there: %+v", c)
	}
}
