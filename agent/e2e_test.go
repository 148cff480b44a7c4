package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdktgt"
)

func TestMain(m *testing.M) { os.Exit(spdktgt.Main(m)) }

// node is an SPDK target (the simulator, or a real spdk_tgt in the
// real-SPDK tier) with the demo node built, an agent in front of it, and
// clients of both sockets.
type node struct {
	sim   *spdksim.Sim    // nil on a real target
	tgt   *spdktgt.Target // nil on the simulator
	demo  *spdksim.DemoNode
	agent *Agent
	cfg   Config
	spdk  *spdkrpc.Client // straight to the simulator
	via   *spdkrpc.Client // through the agent
	dir   string
	// stopAgent stops the agent and returns what its Run returned; later
	// calls return the same.
	stopAgent func() error
}

// startAgent starts an agent on n.cfg and connects n.via to its socket.
func (n *node) startAgent(t testing.TB) {
	t.Helper()
	var err error
	n.agent, err = New(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	a := n.agent
	go func() { runDone <- a.Run(ctx) }()
	n.stopAgent = sync.OnceValue(func() error {
		cancel()
		return <-runDone
	})
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	defer dcancel()
	for {
		if n.via, err = spdkrpc.Dial(dctx, n.cfg.RPCSocket, spdkrpc.Options{}); err == nil {
			break
		}
		if dctx.Err() != nil {
			t.Fatalf("agent socket never came up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// restartAgent stops the agent and starts a new one on the same
// configuration and state directory, as after a process restart, and waits
// for its complete graph.
func (n *node) restartAgent(t testing.TB) {
	t.Helper()
	n.via.Close()
	if err := n.stopAgent(); err != nil {
		t.Fatalf("agent Run: %v", err)
	}
	n.startAgent(t)
	n.waitFor(t, "a complete graph after the agent's restart", func(s Status) bool { return s.Graph.Complete })
}

type nodeOpts struct {
	poll      time.Duration // simulator poll period; 0 = off
	allowSelf bool          // put the test's uid on the allow list
	denySelf  bool          // allow only a uid that is not the test's
	noDemo    bool
	real      bool // a real spdk_tgt (the shared one) instead of the simulator
	health    bool // serve the health socket
	disk      bool // manage one filesystem disk
	edit      func(*Config)
	// maxReply lowers the simulator's cut of long answers (SPDK's 32 MiB
	// send buffer) and the agent's clients' limit with it.
	maxReply int
}

// startNode starts everything and waits until the agent's graph is complete.
func startNode(t testing.TB, o nodeOpts) *node {
	t.Helper()
	dir, err := os.MkdirTemp("", "agt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{dir: dir}
	var spdkSock string
	if o.real {
		n.tgt = spdktgt.Shared(t)
		spdkSock = n.tgt.Socket
	} else {
		poll := o.poll
		if poll == 0 {
			poll = -1
		}
		n.sim = spdksim.New(spdksim.Options{PollInterval: poll, MaxReply: o.maxReply})
		spdkSock = filepath.Join(dir, "spdk.sock")
		if err := n.sim.Start(ctx, spdkSock); err != nil {
			t.Fatal(err)
		}
	}
	if !o.noDemo {
		if n.sim != nil {
			n.demo, err = n.sim.BuildDemoNode(ctx, dir)
		} else {
			n.demo, err = spdksim.BuildDemoNode(ctx, clientCall(n.tgt.Client(t)), dir)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	n.cfg = Config{
		SPDKSocket:     spdkSock,
		RPCSocket:      filepath.Join(dir, "agent.sock"),
		StateDir:       filepath.Join(dir, "state"),
		NotifyInterval: 10 * time.Millisecond,
		MaxGraphAge:    5 * time.Second,
		AllowUIDs:      []uint32{0},
	}
	if o.health {
		n.cfg.HealthSocket = filepath.Join(dir, "health.sock")
	}
	if o.disk {
		d := filepath.Join(dir, "disk1")
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		n.cfg.Disks = []string{d}
	}
	if o.denySelf {
		n.cfg.AllowUIDs = []uint32{uint32(os.Getuid()) + 1}
	}
	if o.allowSelf {
		n.cfg.AllowUIDs = append(n.cfg.AllowUIDs, uint32(os.Getuid()))
	}
	n.cfg.SPDKMaxReply = o.maxReply
	if o.edit != nil {
		o.edit(&n.cfg)
	}
	n.spdk, err = spdkrpc.Dial(ctx, spdkSock, spdkrpc.Options{MaxReply: o.maxReply})
	if err != nil {
		t.Fatal(err)
	}
	n.startAgent(t)
	t.Cleanup(func() {
		n.via.Close()
		n.spdk.Close()
		if err := n.stopAgent(); err != nil {
			t.Errorf("agent Run: %v", err)
		}
		cancel()
		if n.sim != nil {
			n.sim.Close()
		}
	})
	n.waitFor(t, "a complete graph", func(s Status) bool { return s.Graph.Complete })
	return n
}

// clientCall adapts a client to the demo builder's CallFunc.
func clientCall(c *spdkrpc.Client) spdksim.CallFunc {
	return func(ctx context.Context, method string, params any) (json.RawMessage, error) {
		var raw json.RawMessage
		err := c.Call(ctx, method, params, &raw)
		return raw, err
	}
}

// crashSPDK kills the target as a crash would: the simulator drops its
// connections and answers nothing; a real spdk_tgt gets SIGKILL.
func (n *node) crashSPDK(t testing.TB) {
	t.Helper()
	if n.sim != nil {
		n.sim.Crash()
		return
	}
	n.tgt.Kill()
}

// restartSPDK starts the crashed (or running) target again with its memory
// gone: malloc bdevs and their lvstores are lost, aio files remain.
func (n *node) restartSPDK(t testing.TB) {
	t.Helper()
	var err error
	if n.sim != nil {
		err = n.sim.Restart(context.Background())
	} else {
		err = n.tgt.Restart(context.Background())
	}
	if err != nil {
		t.Fatalf("restart SPDK: %v", err)
	}
}

// backends runs body once on the simulator and once on a real spdk_tgt
// (the latter skipped, with one line, when the real-SPDK tier is off).
func backends(t *testing.T, body func(t *testing.T, real bool)) {
	t.Run("sim", func(t *testing.T) { body(t, false) })
	t.Run("real", func(t *testing.T) { body(t, true) })
}

// status asks the agent for its status over its socket.
func (n *node) status(t testing.TB) Status {
	t.Helper()
	var st Status
	if err := n.via.Call(context.Background(), "agent_get_status", nil, &st); err != nil {
		t.Fatalf("agent_get_status: %v", err)
	}
	return st
}

// waitFor polls the agent's status until cond holds (at most 5 s).
func (n *node) waitFor(t testing.TB, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st Status
		err := n.via.Call(context.Background(), "agent_get_status", nil, &st)
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last status %+v (err %v)", what, st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lvolExists asks SPDK itself.
func (n *node) lvolExists(t testing.TB, alias string) bool {
	t.Helper()
	_, err := n.spdk.CallRaw(context.Background(), "bdev_get_bdevs", json.RawMessage(`{"name":"`+alias+`"}`))
	if errors.Is(err, spdkrpc.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("bdev_get_bdevs %s: %v", alias, err)
	}
	return true
}

// refusedWith checks err is the agent's refusal with the given rule.
func refusedWith(t testing.TB, err error, rule string) refusalFacts {
	t.Helper()
	var se *spdkrpc.Error
	if !errors.As(err, &se) {
		t.Fatalf("error = %v, want an SPDK-style refusal (%s)", err, rule)
	}
	f, ok := refusalOf(se)
	if !ok || f.Rule != rule || se.Code != -1 || !strings.HasPrefix(se.Message, "Operation not permitted") {
		t.Fatalf("refusal = %d %q (data %s), want rule %s", se.Code, se.Message, se.Data, rule)
	}
	return f
}

func params(kv ...string) json.RawMessage {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

func osGetuid() int { return os.Getuid() }

// readAudit returns the records of the agent's audit log.
func readAudit(t testing.TB, n *node) []auditRecord {
	t.Helper()
	return readAuditFile(t, n.cfg.statePath(auditFileName))
}

// readAuditFile decodes every line of the audit log at p.
func readAuditFile(t testing.TB, p string) []auditRecord {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditRecord
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r auditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func errorsIsNotFound(err error) bool { return errors.Is(err, spdkrpc.ErrNotFound) }
