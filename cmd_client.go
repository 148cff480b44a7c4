package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spdk-agent/spdk-agent/agent"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func init() {
	for _, c := range []*command{
		{name: "status", summary: "show the agent's view of SPDK", run: clientCmd("status", runStatus)},
		{name: "lvols", summary: "list lvols", run: clientCmd("lvols", runLvols)},
		{name: "tree", summary: "show lvol ancestry as a tree", run: clientCmd("tree", runTree)},
		{name: "graph", summary: "print the lvol graph as DOT or JSON", run: clientCmd("graph", runGraph)},
		{name: "plan", summary: "plan a replica cleanup (deletes nothing)", run: clientCmd("plan", runPlan)},
		{name: "apply", summary: "apply a replica cleanup through the agent", run: clientCmd("apply", runApply)},
	} {
		register(c)
	}
}

// clientEnv is what every client subcommand gets: its flags parsed, a
// connected client and where to write.
type clientEnv struct {
	fs     *flag.FlagSet
	args   []string // the positional arguments
	c      *spdkrpc.Client
	out    io.Writer
	asJSON bool
}

// call calls method and decodes into result, or prints the raw JSON result
// with -o json and returns errPrinted.
func (e *clientEnv) call(ctx context.Context, method string, params, result any) error {
	var raw json.RawMessage
	if err := e.c.Call(ctx, method, params, &raw); err != nil {
		return err
	}
	if e.asJSON {
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		var v any
		_ = json.Unmarshal(raw, &v)
		_ = enc.Encode(v)
		fmt.Fprint(e.out, buf.String())
		return errPrinted
	}
	return json.Unmarshal(raw, result)
}

// clientOut and clientErr are where client subcommands print; tests
// capture them.
var (
	clientOut io.Writer = os.Stdout
	clientErr io.Writer = os.Stderr
)

// errPrinted means the JSON answer was printed and there is nothing more to do.
var errPrinted = errors.New("printed")

type clientRun func(ctx context.Context, e *clientEnv) error

// clientCmd wraps a client subcommand: common flags, then the call.
func clientCmd(name string, run clientRun) func(ctx context.Context, args []string) error {
	return func(ctx context.Context, args []string) error {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		socket := fs.String("socket", envDefault("SPDK_AGENT_RPC_SOCKET", defaultRPCSocket), "the agent's socket (SPDK_AGENT_RPC_SOCKET)")
		output := fs.String("o", "text", "output: text or json")
		timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
		e := &clientEnv{fs: fs, out: clientOut}
		// Subcommand flags are declared by a dry run with no client.
		flagsOf[name](fs)
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		e.args = pos
		// The command line is checked before connecting: a usage error
		// must not wait for, or be hidden by, an absent agent.
		check := checkArgs[name]
		if check == nil {
			check = noArgs
		}
		if err := check(e); err != nil {
			return err
		}
		if *output != "text" && *output != "json" {
			return fmt.Errorf("%w: -o %q: want text or json", errUsage, *output)
		}
		e.asJSON = *output == "json"
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		c, err := dialAgent(ctx, *socket)
		if err != nil {
			return err
		}
		defer c.Close()
		e.c = c
		if err := run(ctx, e); err != nil && !errors.Is(err, errPrinted) {
			return err
		}
		return nil
	}
}

// errNoAgent means nothing answers at the agent's socket.
var errNoAgent = errors.New("is the agent running?")

// dialAgent connects to the agent's socket, waiting at most until ctx ends
// for its answer. A socket nobody can connect to fails at once, saying why:
// the client would otherwise retry until ctx ends.
func dialAgent(ctx context.Context, socket string) (*spdkrpc.Client, error) {
	var d net.Dialer
	probe, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, agentUnreachable(socket, err)
	}
	probe.Close()
	c, err := spdkrpc.Dial(ctx, socket, spdkrpc.Options{})
	if err != nil {
		return nil, fmt.Errorf("connecting to the agent at %s: %w", socket, err)
	}
	return c, nil
}

// agentUnreachable explains why connecting to the agent's socket failed.
func agentUnreachable(socket string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("%w no socket at %s (set --socket or SPDK_AGENT_RPC_SOCKET)", errNoAgent, socket)
	case errors.Is(err, syscall.ECONNREFUSED):
		if fi, serr := os.Stat(socket); serr == nil && fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("%w %s is not a socket (set --socket or SPDK_AGENT_RPC_SOCKET)", errNoAgent, socket)
		}
		return fmt.Errorf("%w nothing listens on %s (left behind by an agent that stopped?)", errNoAgent, socket)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot open the agent's socket %s: permission denied (run as its owner or a member of its group)", socket)
	}
	return fmt.Errorf("connecting to the agent at %s: %w", socket, err)
}

// flagsOf declares each subcommand's own flags; values are read back with
// fs.Lookup in the run function.
var flagsOf = map[string]func(fs *flag.FlagSet){
	"status": func(*flag.FlagSet) {},
	"lvols":  func(fs *flag.FlagSet) { fs.String("lvstore", "", "only this lvstore (name or UUID)") },
	"tree":   func(fs *flag.FlagSet) { fs.String("lvstore", "", "only this lvstore (name or UUID)") },
	"graph": func(fs *flag.FlagSet) {
		fs.String("lvstore", "", "only this lvstore (name or UUID)")
		fs.String("format", "dot", "dot or json")
	},
	"plan":  cleanupFlags,
	"apply": cleanupFlags,
}

// checkArgs checks a subcommand's positional arguments and flag values
// before it connects; commands without an entry take no arguments.
var checkArgs = map[string]func(e *clientEnv) error{
	"graph": func(e *clientEnv) error {
		if f := flagString(e.fs, "format"); f != "dot" && f != "json" {
			return fmt.Errorf("%w: --format %q: want dot or json", errUsage, f)
		}
		return noArgs(e)
	},
	"plan":  checkCleanupArgs,
	"apply": checkCleanupArgs,
}

func noArgs(e *clientEnv) error {
	if len(e.args) > 0 {
		return fmt.Errorf("%w: %s takes no arguments, got %q", errUsage, e.fs.Name(), e.args)
	}
	return nil
}

func checkCleanupArgs(e *clientEnv) error {
	if _, err := cleanupParams(e.fs); err != nil {
		return err
	}
	return noArgs(e)
}

func cleanupFlags(fs *flag.FlagSet) {
	fs.String("lvstore", "", "the lvstore to clean (name or UUID; required)")
	fs.String("replica", "", "the replica whose lvols go (required)")
	fs.Var(&listFlag{}, "keep", "an lvol to keep (alias, UUID or name in the lvstore); repeatable")
}

func flagString(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }

func lvstoreParam(fs *flag.FlagSet) any {
	if v := flagString(fs, "lvstore"); v != "" {
		return map[string]string{"lvstore": v}
	}
	return nil
}

func runStatus(ctx context.Context, e *clientEnv) error {
	var st agent.Status
	if err := e.call(ctx, "agent_get_status", nil, &st); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "SPDK:      %s, %s\n", st.SPDK.Socket, map[bool]string{true: "connected (" + st.SPDK.Version + ")", false: "DISCONNECTED"}[st.SPDK.Connected])
	g := st.Graph
	state := "complete"
	if !g.Synced {
		state = "not synced yet"
	} else if !g.Complete {
		state = "INCOMPLETE, missing " + strings.Join(g.Missing, ", ")
	}
	if g.Stale {
		state += ", STALE"
	}
	fmt.Fprintf(e.out, "graph:     generation %d, lvstores: %d, lvols: %d, %s\n", g.Generation, g.Lvstores, g.Lvols, state)
	fmt.Fprintf(e.out, "read at:   %s (confirmed %.1fs ago)\n", g.ReadAt.Format(time.RFC3339Nano), g.AgeSeconds)
	for _, a := range g.Anomalies {
		fmt.Fprintf(e.out, "anomaly:   %s\n", a)
	}
	agent.RenderOrphans(e.out, "orphans:   ", g.Orphans)
	return nil
}

func runLvols(ctx context.Context, e *clientEnv) error {
	var reply agent.LvolsReply
	if err := e.call(ctx, "agent_get_lvols", lvstoreParam(e.fs), &reply); err != nil {
		return err
	}
	agent.RenderWarning(e.out, reply.Status)
	tw := tabwriter.NewWriter(e.out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ALIAS\tUUID\tSIZE\tKIND\tPARENT\tPROTECTED")
	for _, l := range reply.Lvols {
		kind := "volume"
		switch {
		case l.Snapshot:
			kind = "snapshot"
		case l.EsnapClone:
			kind = "esnap-clone"
		case l.Clone:
			kind = "clone"
		}
		if l.Orphan {
			kind += " (orphan)"
		}
		parent := "-"
		if l.Parent != nil {
			parent = string(l.Parent.Alias)
			if parent == "" {
				parent = "bdev " + string(l.Parent.BdevName)
			}
		}
		prot := "-"
		if l.Protected != nil {
			prot = l.Protected.Rule
		}
		fmt.Fprintf(tw, "%s\t%s\t%d MiB\t%s\t%s\t%s\n", l.Alias, l.UUID, l.Size>>20, kind, parent, prot)
	}
	return tw.Flush()
}

func runTree(ctx context.Context, e *clientEnv) error {
	var g agent.GraphReply
	if err := e.call(ctx, "agent_get_graph", lvstoreParam(e.fs), &g); err != nil {
		return err
	}
	agent.RenderTree(e.out, g)
	return nil
}

func runGraph(ctx context.Context, e *clientEnv) error {
	if flagString(e.fs, "format") == "json" {
		e.asJSON = true
	}
	var g agent.GraphReply
	if err := e.call(ctx, "agent_get_graph", lvstoreParam(e.fs), &g); err != nil {
		return err
	}
	// The DOT goes to Graphviz; the warning is for the person running it.
	agent.RenderWarning(clientErr, g.Status)
	agent.RenderDOT(e.out, g)
	return nil
}

func cleanupParams(fs *flag.FlagSet) (map[string]any, error) {
	lvs, replica := flagString(fs, "lvstore"), flagString(fs, "replica")
	if lvs == "" || replica == "" {
		return nil, fmt.Errorf("%w: --lvstore and --replica are required", errUsage)
	}
	p := map[string]any{"lvstore": lvs, "replica": replica}
	if keep := *fs.Lookup("keep").Value.(*listFlag); len(keep) > 0 {
		p["keep"] = []string(keep)
	}
	return p, nil
}

func runPlan(ctx context.Context, e *clientEnv) error {
	p, err := cleanupParams(e.fs)
	if err != nil {
		return err
	}
	var pl agent.PlanReply
	if err := e.call(ctx, "agent_plan_cleanup", p, &pl); err != nil {
		return err
	}
	agent.RenderPlan(e.out, pl)
	return nil
}

func runApply(ctx context.Context, e *clientEnv) error {
	p, err := cleanupParams(e.fs)
	if err != nil {
		return err
	}
	var rep agent.CleanupReport
	if err := e.call(ctx, "agent_apply_cleanup", p, &rep); err != nil {
		return err
	}
	agent.RenderReport(e.out, rep)
	if rep.Stopped != nil {
		return fmt.Errorf("cleanup stopped at %s: %s", rep.Stopped.Alias, rep.Stopped.Reason)
	}
	return nil
}
