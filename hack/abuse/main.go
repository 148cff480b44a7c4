// Command abuse loads and abuses a running agent the way a crowded node
// does, and checks that it holds: a hung SPDK, a client that never reads,
// a pipelining client, hundreds of concurrent clients, idle connections on
// both sockets, and SPDK stopped outright. The agent and the simulator run
// as processes of the spdk-agent binary (so the agent's memory, file
// descriptors and goroutines are its own), on Unix sockets in a temporary
// directory; every loop is bounded. It prints its figures and exits 1 when
// a threshold is missed.
//
//	make build && go run ./hack/abuse -bin bin/spdk-agent          # full
//	go run ./hack/abuse -bin bin/spdk-agent -short                  # CI
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Settings of the agent under test: deadlines short enough for a run to
// see them pass, everything else at its default.
const (
	callTimeout  = 2 * time.Second
	idleTimeout  = 3 * time.Second
	writeTimeout = 3 * time.Second
	maxGraphAge  = 5 * time.Second
	// hungMethod is made to hang in the simulator; only the suite calls it.
	hungMethod = "framework_get_reactors"
	// probeMethod is what the other clients call while one abuses: a
	// read-only call forwarded to SPDK.
	probeMethod = "spdk_get_version"
)

// Thresholds the issue gives, and the memory bound this suite states.
const (
	maxOthersP99 = 100 * time.Millisecond
	maxRSS       = 200 << 20
)

type scale struct {
	hungCalls, floodCalls, pipeCalls, clients, idleRPC, idleHealth int
	stopFor                                                        time.Duration
}

var (
	full  = scale{hungCalls: 1000, floodCalls: 20000, pipeCalls: 20000, clients: 500, idleRPC: 64, idleHealth: 20000, stopFor: 60 * time.Second}
	short = scale{hungCalls: 1000, floodCalls: 20000, pipeCalls: 20000, clients: 500, idleRPC: 64, idleHealth: 20000, stopFor: 8 * time.Second}
)

func main() {
	bin := flag.String("bin", "bin/spdk-agent", "the spdk-agent binary")
	shortRun := flag.Bool("short", false, "the CI form: SPDK is stopped for 8 s instead of 60 s")
	keep := flag.Bool("keep", false, "keep the working directory (logs, state)")
	helper := flag.String("health-helper", "", "internal: hold idle connections to this health socket and report")
	helperConns := flag.Int("health-helper-conns", 0, "internal: how many")
	flag.Parse()
	if *helper != "" {
		holdHealthConns(*helper, *helperConns)
		return
	}
	sc := full
	if *shortRun {
		sc = short
	}
	start := time.Now()
	failures, err := run(*bin, sc, *keep)
	fmt.Printf("abuse: %d checks failed, took %v\n", failures, time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, "abuse:", err)
		os.Exit(2)
	}
	if failures > 0 {
		os.Exit(1)
	}
}

// env is the processes under test and their sockets.
type env struct {
	bin, dir               string
	spdkSock, rpc, healthS string
	sim, agent             *exec.Cmd
	failures               int
}

func (e *env) check(ok bool, format string, args ...any) {
	mark := "ok  "
	if !ok {
		mark = "FAIL"
		e.failures++
	}
	fmt.Printf("  %s %s\n", mark, fmt.Sprintf(format, args...))
}

func run(bin string, sc scale, keep bool) (int, error) {
	raiseFDLimit()
	dir, err := os.MkdirTemp("", "abuse")
	if err != nil {
		return 0, err
	}
	if keep {
		fmt.Println("working directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	e := &env{bin: bin, dir: dir, spdkSock: filepath.Join(dir, "spdk.sock"), rpc: filepath.Join(dir, "agent.sock"), healthS: filepath.Join(dir, "health.sock")}
	defer e.stop()
	if err := e.startSim(); err != nil {
		return 0, err
	}
	if err := e.startAgent(); err != nil {
		return 0, err
	}
	for _, s := range []struct {
		name string
		f    func(*env, scale) error
	}{
		{"hung SPDK", hungSPDK},
		{"non-reading flood", deafFlood},
		{"pipelining client", pipelining},
		{"concurrent clients", concurrentClients},
		{"idle RPC connections", idleRPC},
		{"idle health connections", idleHealth},
		{"SPDK stopped", stoppedSPDK},
	} {
		fmt.Printf("%s:\n", s.name)
		t0 := time.Now()
		if err := s.f(e, sc); err != nil {
			return e.failures, fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Printf("  (%v)\n", time.Since(t0).Round(100*time.Millisecond))
	}
	return e.failures, nil
}

func (e *env) startSim() error {
	e.sim = exec.Command(e.bin, "sim", "--socket", e.spdkSock, "--demo-node", "--seed", "7",
		"--state-dir", filepath.Join(e.dir, "sim"), "--hang", hungMethod)
	if err := os.MkdirAll(filepath.Join(e.dir, "sim"), 0o755); err != nil {
		return err
	}
	if err := e.startLogged(e.sim, "sim.log"); err != nil {
		return err
	}
	return waitFor(10*time.Second, "the simulator's socket", func() bool { return dialable(e.spdkSock) })
}

func (e *env) startAgent() error {
	e.agent = exec.Command(e.bin, "run", "--spdk-socket", e.spdkSock, "--rpc-socket", e.rpc,
		"--health-socket", e.healthS, "--state-dir", filepath.Join(e.dir, "state"),
		"--allow-uid", strconv.Itoa(os.Getuid()), "--call-timeout", callTimeout.String(),
		"--max-graph-age", maxGraphAge.String(), "--client-idle-timeout", idleTimeout.String(),
		"--client-write-timeout", writeTimeout.String(), "--health-idle-timeout", idleTimeout.String())
	if err := e.startLogged(e.agent, "agent.log"); err != nil {
		return err
	}
	return waitFor(20*time.Second, "the agent's RPC and health sockets", func() bool {
		code, _, err := httpGet(e.healthS, "/livez")
		return err == nil && code == 200 && dialable(e.rpc)
	})
}

func (e *env) startLogged(c *exec.Cmd, name string) error {
	f, err := os.Create(filepath.Join(e.dir, name))
	if err != nil {
		return err
	}
	c.Stdout, c.Stderr = f, f
	return c.Start()
}

// restartAgent stops the agent gracefully and starts it again on the same
// state directory.
func (e *env) restartAgent() error {
	e.stopProcess(e.agent)
	return e.startAgent()
}

func (e *env) stopProcess(c *exec.Cmd) {
	if c == nil || c.Process == nil || c.ProcessState != nil {
		return
	}
	_ = c.Process.Signal(syscall.SIGCONT)
	_ = c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
}

func (e *env) stop() {
	e.stopProcess(e.agent)
	e.stopProcess(e.sim)
}

// raiseFDLimit sets the soft limit of file descriptors to the hard one,
// here and in the agent, which inherits it. The idle health connections
// are held by helper processes, so that each stays below it.
func raiseFDLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(d time.Duration, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
