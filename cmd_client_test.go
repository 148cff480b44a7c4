package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/agent"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// startDemoAgent runs an agent in front of the simulator's demo node and
// returns the agent's socket once its graph is complete, and the simulator.
func startDemoAgent(t *testing.T) (string, *spdksim.Sim) {
	t.Helper()
	dir, err := os.MkdirTemp("", "cli") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket, sim := startSimAndAgent(t, dir, true, agent.Config{})
	waitFor(t, "a complete graph", func() error {
		c, err := spdkrpc.Dial(context.Background(), socket, spdkrpc.Options{})
		if err != nil {
			return err
		}
		defer c.Close()
		var st agent.Status
		if err := c.Call(context.Background(), "agent_get_status", nil, &st); err != nil {
			return err
		}
		if !st.Graph.Complete || st.Graph.Lvstores != 2 {
			return fmt.Errorf("graph %+v", st.Graph)
		}
		return nil
	})
	return socket, sim
}

// startSimAndAgent starts a simulator in dir (with the demo node when demo
// is set) and an agent in front of it configured by cfg plus the sockets,
// the state directory and the test's uid on the allow list. Both stop when
// the test ends. It returns the agent's socket and the simulator.
func startSimAndAgent(t *testing.T, dir string, demo bool, cfg agent.Config) (string, *spdksim.Sim) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sim := spdksim.New(spdksim.Options{PollInterval: -1})
	if demo {
		if _, err := sim.BuildDemoNode(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.Start(ctx, filepath.Join(dir, "spdk.sock")); err != nil {
		t.Fatal(err)
	}
	cfg.SPDKSocket = filepath.Join(dir, "spdk.sock")
	cfg.RPCSocket = filepath.Join(dir, "agent.sock")
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.AllowUIDs = append(cfg.AllowUIDs, uint32(os.Getuid()))
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
		sim.Close()
	})
	return cfg.RPCSocket, sim
}

// runClient runs one client subcommand and returns what it printed.
func runClient(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, _, err := runClientErr(t, name, args...)
	return out, err
}

// runClientErr is runClient returning what went to stderr too.
func runClientErr(t *testing.T, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	clientOut, clientErr = &out, &errOut
	defer func() { clientOut, clientErr = os.Stdout, os.Stderr }()
	err = commands[name].run(context.Background(), args)
	return out.String(), errOut.String(), err
}

// TestClientCommands_warnWhenOutOfDate crashes SPDK under a running agent:
// every view of the graph then starts with one warning line.
func TestClientCommands_warnWhenOutOfDate(t *testing.T) {
	sock, sim := startDemoAgent(t)
	sim.Crash()
	waitFor(t, "the agent to see SPDK gone", func() error {
		out, err := runClient(t, "status", "--socket", sock)
		if err != nil || !strings.Contains(out, "DISCONNECTED") {
			return fmt.Errorf("status: %v\n%s", err, out)
		}
		return nil
	})
	const want = "WARNING: SPDK is not connected: this is the last graph read\n"
	for _, args := range [][]string{{"tree"}, {"lvols"}, {"lvols", "--lvstore", spdksim.DemoAioLvstore}} {
		out, err := runClient(t, args[0], append([]string{"--socket", sock}, args[1:]...)...)
		if err != nil || !strings.HasPrefix(out, want) {
			t.Errorf("%v: %v, want output starting with %q:\n%s", args, err, want, out)
		}
	}
	out, errOut, err := runClientErr(t, "graph", "--socket", sock)
	if err != nil || errOut != want || !strings.HasPrefix(out, "digraph") {
		t.Errorf("graph: %v, stderr %q (want %q), stdout starting %.20q", err, errOut, want, out)
	}
	out, err = runClient(t, "lvols", "--socket", sock, "-o", "json")
	var reply agent.LvolsReply
	if err != nil || json.Unmarshal([]byte(out), &reply) != nil || reply.Status.SPDKConnected || len(reply.Lvols) == 0 {
		t.Errorf("lvols -o json: %v, status %+v and %d lvols, want disconnected and the last lvols", err, reply.Status, len(reply.Lvols))
	}
}

func TestClientCommands_demoNode(t *testing.T) {
	sock, _ := startDemoAgent(t)
	tests := []struct {
		args []string
		want []string // each must appear in the output
	}{
		{[]string{"status"}, []string{"connected", "lvstores: 2", "complete", "orphans:   lvs-aio: 1 orphan lvol: r-50-expired-7c21"}},
		{[]string{"lvols", "--lvstore", spdksim.DemoMallocLvstore}, []string{"lvs-malloc/r-1 ", "backing-image"}},
		{[]string{"tree"}, []string{"bdev bi-fedora [backing image, external]", "└─ r-1 [clone]", "[orphan]"}},
		{[]string{"graph", "--format", "dot"}, []string{"digraph lvols {", "cluster_"}},
		{[]string{"plan", "--lvstore", spdksim.DemoMallocLvstore, "--replica", "r-10"}, []string{"1. lvs-malloc/r-10 (", "is a backing image of r-1's chain"}},
		{[]string{"call", "bdev_lvol_get_lvstores"}, []string{`"name": "lvs-aio"`}},
	}
	for _, tt := range tests {
		out, err := runClient(t, tt.args[0], append([]string{"--socket", sock}, tt.args[1:]...)...)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if strings.Contains(out, "WARNING") {
			t.Errorf("%v: a warning while everything is current:\n%s", tt.args, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}

	out, err := runClient(t, "graph", "--socket", sock, "--format", "json")
	if err != nil || !json.Valid([]byte(out)) {
		t.Fatalf("graph --format json: %v, valid JSON %v", err, json.Valid([]byte(out)))
	}
}

func TestClientCommands_callShowsRefusalAndApplyCleans(t *testing.T) {
	sock, _ := startDemoAgent(t)
	var shared string
	out, err := runClient(t, "lvols", "--socket", sock, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var lvols agent.LvolsReply
	if err := json.Unmarshal([]byte(out), &lvols); err != nil {
		t.Fatalf("lvols -o json: %v\n%s", err, out)
	}
	if !lvols.Status.Complete || !lvols.Status.SPDKConnected || len(lvols.Status.Warnings) != 0 {
		t.Errorf("lvols -o json: status %+v, want complete and connected, no warnings", lvols.Status)
	}
	for _, l := range lvols.Lvols {
		if strings.HasPrefix(string(l.Name), "bi-ubuntu-disk-") {
			shared = string(l.Alias)
		}
	}
	if shared == "" {
		t.Fatal("no shared backing image in lvols -o json")
	}

	out, err = runClient(t, "call", "--socket", sock, "bdev_lvol_delete", `{"name":"`+shared+`"}`)
	if err == nil || !strings.Contains(out, "error -1: Operation not permitted: backing-image") || !strings.Contains(out, `"rule": "backing-image"`) {
		t.Fatalf("refused delete: err %v, output:\n%s", err, out)
	}
	if _, err := runClient(t, "call", "--socket", sock, "bdev_lvol_delete", "{bad"); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("bad params: %v", err)
	}

	out, err = runClient(t, "apply", "--socket", sock, "--lvstore", spdksim.DemoMallocLvstore, "--replica", "r-10")
	if err != nil || !strings.Contains(out, "deleted (3)") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	out, err = runClient(t, "call", "--socket", sock, "bdev_get_bdevs", `{"name":"lvs-malloc/r-10"}`)
	if err == nil || !strings.Contains(out, "error -19: No such device") {
		t.Fatalf("r-10 after apply: %v\n%s", err, out)
	}
	if _, err := runClient(t, "call", "--socket", sock, "bdev_get_bdevs", `{"name":"`+shared+`"}`); err != nil {
		t.Fatalf("the shared backing image must survive the cleanup: %v", err)
	}
}

// TestClientCommands_noAgent checks every client command against an agent
// socket nobody answers on: exit 1 at once, saying why and where, nothing on
// stdout. Usage errors are found before connecting: exit 2.
func TestClientCommands_noAgent(t *testing.T) {
	dir, err := os.MkdirTemp("", "noagent") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	absent := filepath.Join(dir, "agent.sock")
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	notRunning := "is the agent running? no socket at " + absent + " (set --socket or SPDK_AGENT_RPC_SOCKET)"
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"status", "--socket", absent}, 1, notRunning},
		{[]string{"status", "-o", "json", "--socket", absent}, 1, notRunning},
		{[]string{"lvols", "--socket", absent}, 1, notRunning},
		{[]string{"tree", "--socket", absent}, 1, notRunning},
		{[]string{"graph", "--socket", absent}, 1, notRunning},
		{[]string{"plan", "--socket", absent, "--lvstore", "lvs0", "--replica", "r-1"}, 1, notRunning},
		{[]string{"apply", "--socket", absent, "--lvstore", "lvs0", "--replica", "r-1"}, 1, notRunning},
		{[]string{"call", "bdev_get_bdevs", "--socket", absent}, 1, notRunning}, // a flag after the method
		{[]string{"disk", "list", "--socket", absent}, 1, notRunning},
		{[]string{"status", "--socket", stale}, 1, "is the agent running? nothing listens on " + stale},
		{[]string{"status", "--socket", file}, 1, "is the agent running? " + file + " is not a socket"},
		{[]string{"status", "--socket", filepath.Join(dir, "nodir", "agent.sock")}, 1, "no socket at " + filepath.Join(dir, "nodir", "agent.sock")},
		// Usage errors win over the absent agent.
		{[]string{"call", "--socket", absent, "a", "b", "c"}, 2, "usage: want METHOD [PARAMS-JSON]"},
		{[]string{"call", "--socket", absent, "m", "{bad"}, 2, `params "{bad" are not valid JSON`},
		{[]string{"plan", "--socket", absent}, 2, "--lvstore and --replica are required"},
		{[]string{"graph", "--socket", absent, "--format", "svg"}, 2, `--format "svg": want dot or json`},
		{[]string{"tree", "--socket", absent, "extra"}, 2, `tree takes no arguments, got ["extra"]`},
		{[]string{"status", "--socket", absent, "-o", "yaml"}, 2, `-o "yaml": want text or json`},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		clientOut = &out
		code := runMain(context.Background(), append(tt.args, "--timeout", "5s"), &errOut)
		clientOut = os.Stdout
		wantPrefix := "spdk-agent " + tt.args[0] + ": "
		if code != tt.code || !strings.HasPrefix(errOut.String(), wantPrefix) || !strings.Contains(errOut.String(), tt.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and stderr %q...%q", tt.args, code, errOut.String(), out.String(), tt.code, wantPrefix, tt.want)
		}
	}
}
