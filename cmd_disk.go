package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spdk-agent/spdk-agent/agent"
	"github.com/spdk-agent/spdk-agent/diskid"
)

func init() {
	register(&command{
		name:    "disk",
		summary: "list, initialise, check and regenerate disk identities",
		run: func(ctx context.Context, args []string) error {
			return diskMain(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

const diskUsage = `usage: spdk-agent disk <subcommand> [flags]

subcommands:
  list                 show the disks' identities and conditions
  init PATH...         give filesystem disks an identity (kept if present)
  check                report prefix collisions against the registry (exit 1 if any)
  regenerate PATH --force
                       give a disk a new UUID; evict the disk first

With --socket (or $SPDK_AGENT_RPC_SOCKET set) the subcommands ask the running
agent (its socket is usually /run/spdk-agent/rpc.sock) through agent_disk_*
methods, about the disks it manages; init and regenerate then need a caller on
the agent's allow list. Without, they open the disks given by --disk here.

flags (each with an environment fallback):
  --socket PATH        the running agent's socket ($SPDK_AGENT_RPC_SOCKET)
  --timeout D          with --socket or --registry kube, give up after this long (default 30s)
  --disk PATH          a filesystem disk, repeatable ($SPDK_AGENT_DISKS, comma-separated)
  --registry kube|FILE the cluster's prefix claims (kube: Kubernetes Leases), or
                       a registry file of disk UUIDs ($SPDK_AGENT_REGISTRY)
  --kubeconfig FILE    with --registry kube: the API server; empty: in-cluster
                       ($SPDK_AGENT_KUBECONFIG, then $KUBECONFIG)
  --namespace NS       with --registry kube: the claims' namespace ($SPDK_AGENT_NAMESPACE;
                       default: the pod's)
  --state-dir DIR      where the last good registry is kept ($SPDK_AGENT_STATE_DIR)
  --node NAME          this node's name in the registry ($SPDK_AGENT_NODE)
  --prefix-len N       hex digits that must be unique ($SPDK_AGENT_PREFIX_LEN, default 4)
  -o text|json         output format

--disk, --registry, --kubeconfig, --namespace, --state-dir, --node and
--prefix-len configure the local disks and cannot be given with --socket: the
agent uses its own configuration. With --registry kube, init claims each new
disk's prefix in the cluster (and fails, writing nothing, when none is free or
the claims cannot be listed), regenerate moves the claim, and list shows each
disk's claim.`

// diskFlags are the flags every disk subcommand takes.
type diskFlags struct {
	disks     stringList
	registry  string
	stateDir  string
	node      string
	prefixLen int
	output    string
	force     bool
	socket    string
	timeout   time.Duration
	kube      kubeFlags
}

// localOnlyFlags configure local disks; the agent has its own.
var localOnlyFlags = []string{"disk", "registry", "kubeconfig", "namespace", "state-dir", "node", "prefix-len"}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func diskMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, diskUsage)
		if len(args) == 0 {
			return fmt.Errorf("%w: missing subcommand", errUsage)
		}
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	var f diskFlags
	fs := flag.NewFlagSet("disk "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, diskUsage) }
	if env := envDefault("SPDK_AGENT_DISKS", ""); env != "" {
		for d := range strings.SplitSeq(env, ",") {
			if d = strings.TrimSpace(d); d != "" {
				f.disks = append(f.disks, d)
			}
		}
	}
	fs.Var(&f.disks, "disk", "a filesystem disk directory (repeatable)")
	fs.StringVar(&f.registry, "registry", envDefault("SPDK_AGENT_REGISTRY", ""), "kube (the cluster's prefix claims) or a cluster registry file")
	f.kube.register(fs)
	fs.StringVar(&f.stateDir, "state-dir", envDefault("SPDK_AGENT_STATE_DIR", ""), "state directory")
	fs.StringVar(&f.node, "node", envDefault("SPDK_AGENT_NODE", ""), "this node's name in the registry")
	prefixLen, err := strconv.Atoi(envDefault("SPDK_AGENT_PREFIX_LEN", strconv.Itoa(diskid.DefaultPrefixLen)))
	if err != nil {
		return fmt.Errorf("%w: SPDK_AGENT_PREFIX_LEN: %v", errUsage, err)
	}
	fs.IntVar(&f.prefixLen, "prefix-len", prefixLen, "hex digits of a disk UUID that must be unique")
	fs.StringVar(&f.output, "o", "text", "output format: text or json")
	fs.StringVar(&f.socket, "socket", envDefault("SPDK_AGENT_RPC_SOCKET", ""), "the running agent's socket; empty: open the disks here")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "with --socket, give up after this long")
	if sub == "regenerate" {
		fs.BoolVar(&f.force, "force", false, "really regenerate, even a disk in use")
	}
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("%w: -o %q: want text or json", errUsage, f.output)
	}
	if f.prefixLen < 1 || f.prefixLen > 32 {
		return fmt.Errorf("%w: --prefix-len %d: want 1 to 32", errUsage, f.prefixLen)
	}
	if err := checkDiskArgs(sub, pos, f); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, diskUsage)
			err = fmt.Errorf("%w: %w", errUsage, err)
		}
		return err
	}
	if f.socket != "" {
		var local []string
		fs.Visit(func(fl *flag.Flag) {
			if slices.Contains(localOnlyFlags, fl.Name) {
				local = append(local, "--"+fl.Name)
			}
		})
		if len(local) > 0 {
			return fmt.Errorf("%w: %s configure local disks; with --socket the agent uses its own configuration", errUsage, strings.Join(local, ", "))
		}
		ctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		c, err := dialAgent(ctx, f.socket)
		if err != nil {
			return err
		}
		defer c.Close()
		return runDiskSub(ctx, agentDisks{c}, sub, pos, f, stdout)
	}
	return runDiskSub(ctx, &localDisks{f: f, stderr: stderr}, sub, pos, f, stdout)
}

// checkDiskArgs checks the positional arguments of sub.
func checkDiskArgs(sub string, pos []string, f diskFlags) error {
	switch sub {
	case "list", "check":
		if len(pos) > 0 {
			return fmt.Errorf("%w: %s takes no arguments (use --disk PATH)", errUsage, sub)
		}
	case "init":
		if len(pos) == 0 {
			return fmt.Errorf("%w: init needs at least one disk PATH", errUsage)
		}
	case "regenerate":
		if len(pos) != 1 {
			return fmt.Errorf("%w: regenerate needs exactly one disk PATH", errUsage)
		}
		if !f.force {
			return fmt.Errorf("%w: regenerate changes the identity other components know the disk by: evict the disk, then pass --force", errUsage)
		}
	default:
		return fmt.Errorf("unknown disk subcommand %q", sub)
	}
	return nil
}

// diskBackend does the work of the disk subcommands: on disks opened here,
// or through the running agent. Both answer in the same types, which one
// renderer prints.
type diskBackend interface {
	// list checks the disks (check: now, against a re-read registry).
	list(ctx context.Context, check bool) (agent.DiskReport, error)
	// init gives each path an identity and reports every disk after;
	// the report is nil when there is nothing to report.
	init(ctx context.Context, paths []string) (*agent.DiskReport, error)
	regenerate(ctx context.Context, path string, force bool) (agent.DiskRegenerated, error)
}

func runDiskSub(ctx context.Context, b diskBackend, sub string, pos []string, f diskFlags, stdout io.Writer) error {
	switch sub {
	case "list", "check":
		rep, err := b.list(ctx, sub == "check")
		if err != nil {
			return err
		}
		if err := printDisks(rep, f.output, stdout); err != nil {
			return err
		}
		if bad := rep.Problems(); sub == "check" && len(bad) > 0 {
			return fmt.Errorf("%d problem(s): %s", len(bad), strings.Join(bad, "; "))
		}
		return nil
	case "init":
		rep, err := b.init(ctx, pos)
		if rep != nil {
			if perr := printDisks(*rep, f.output, stdout); perr != nil {
				return perr
			}
		}
		return err
	default: // regenerate
		r, err := b.regenerate(ctx, pos[0], f.force)
		if err != nil {
			return err
		}
		return printRegenerated(r, f.output, stdout)
	}
}

// parseInterspersed parses flags that may come after positional arguments
// ("regenerate PATH --force", "call METHOD PARAMS --socket S"), which
// package flag alone stops at. After "--" everything is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse consumed a "--" right before rest.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newDiskManager builds a Manager for one command: regeneration is never
// automatic here, the commands only report or do what they are told.
// The returned stop ends what the Manager needs running (the claims'
// informer); call it when done.
func newDiskManager(ctx context.Context, f diskFlags, stderr io.Writer) (*diskid.Manager, func(), error) {
	cfg := diskid.DefaultConfig()
	cfg.RegenerateUnused = false
	cfg.Node, cfg.PrefixLen = f.node, f.prefixLen
	cfg.RegistryPath, cfg.StateDir = f.registry, f.stateDir
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.StepHook = diskStepHook
	stop := func() {}
	if f.registry == registryKube {
		store, stopClaims, err := startClaims(ctx, f.kube, f.node, f.timeout, cfg.Logger)
		if store == nil {
			return nil, nil, err
		}
		if err != nil {
			// Init and regenerate refuse while not synced; list and
			// check show the problem.
			cfg.Logger.Warn("cluster disk claims not listed", "err", err)
		}
		cfg.RegistryPath, cfg.Claims, stop = "", store, stopClaims
	}
	m, err := diskid.NewManager(cfg)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, d := range f.disks {
		if _, err := m.Add(d); err != nil {
			stop()
			return nil, nil, fmt.Errorf("%w: --disk %q: %v", errUsage, d, err)
		}
	}
	// A rejected registry is logged and shown in the output; the
	// commands still report on the local disks.
	_ = m.ReloadRegistry(ctx)
	return m, stop, nil
}

// diskStepHook, when set (by crash tests), is called at each step of
// claiming a disk's identity.
var diskStepHook func(step string)

// localDisks opens the disks given by the flags in this process.
type localDisks struct {
	f      diskFlags
	stderr io.Writer
}

func (l *localDisks) list(ctx context.Context, _ bool) (agent.DiskReport, error) {
	m, stop, err := newDiskManager(ctx, l.f, l.stderr)
	if err != nil {
		return agent.DiskReport{}, err
	}
	defer stop()
	disks, err := m.Check(ctx)
	if err != nil {
		return agent.DiskReport{}, err
	}
	return agent.NewDiskReport(m, disks), nil
}

func (l *localDisks) init(ctx context.Context, paths []string) (*agent.DiskReport, error) {
	m, stop, err := newDiskManager(ctx, l.f, l.stderr)
	if err != nil {
		return nil, err
	}
	defer stop()
	var errs []error
	for _, p := range paths {
		if _, err := m.Init(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	rep := agent.NewDiskReport(m, m.Disks())
	return &rep, errors.Join(errs...)
}

func (l *localDisks) regenerate(ctx context.Context, path string, force bool) (agent.DiskRegenerated, error) {
	f := l.f
	f.disks = append(f.disks, path)
	m, stop, err := newDiskManager(ctx, f, l.stderr)
	if err != nil {
		return agent.DiskRegenerated{}, err
	}
	defer stop()
	// Load every disk first so that the new UUID avoids all their prefixes.
	if _, err := m.Check(ctx); err != nil {
		return agent.DiskRegenerated{}, err
	}
	old, next, err := m.Regenerate(ctx, path, force)
	if err != nil {
		return agent.DiskRegenerated{}, err
	}
	return agent.DiskRegenerated{Path: path, OldUUID: old, NewUUID: next}, nil
}

func printRegenerated(r agent.DiskRegenerated, output string, stdout io.Writer) error {
	if output == "json" {
		return writeJSON(stdout, r)
	}
	old := string(r.OldUUID)
	if old == "" {
		old = "(damaged)"
	}
	_, err := fmt.Fprintf(stdout, "regenerated %s: %s -> %s\n", r.Path, old, r.NewUUID)
	return err
}

func printDisks(rep agent.DiskReport, output string, stdout io.Writer) error {
	if rep.Disks == nil {
		rep.Disks = []diskid.DiskStatus{}
	}
	if output == "json" {
		return writeJSON(stdout, rep)
	}
	info := rep.Registry
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	claims := info.Mode == registryKube
	if claims {
		fmt.Fprintln(tw, "DISK\tKIND\tUUID\tPREFIX\tSTATE\tCLAIM\tCONDITIONS")
	} else {
		fmt.Fprintln(tw, "DISK\tKIND\tUUID\tPREFIX\tSTATE\tCONDITIONS")
	}
	for _, d := range rep.Disks {
		var conds []string
		for _, c := range d.Conditions {
			conds = append(conds, string(c.Type)+": "+c.Message)
		}
		state := string(d.State)
		if claims {
			state += "\t" + orDash(d.Claim)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", agent.DiskLabel(d), d.Kind, orDash(string(d.UUID)),
			orDash(d.Prefix), state, orDash(strings.Join(conds, "; ")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case info.Path == "":
		_, err := fmt.Fprintln(stdout, "registry: none configured (collisions checked among local disks only)")
		return err
	case claims && !info.Good:
		_, err := fmt.Fprintf(stdout, "registry: cluster claims in %s not listed: %s\n", info.Source, info.Problem)
		return err
	case claims && info.Stale:
		_, err := fmt.Fprintf(stdout, "registry: %d claims in %s (not synced, last good view: %s)\n", info.Disks, info.Source, info.Problem)
		return err
	case claims:
		_, err := fmt.Fprintf(stdout, "registry: %d claims in %s, synced\n", info.Disks, info.Source)
		return err
	case !info.Good:
		_, err := fmt.Fprintf(stdout, "registry: no good registry: %s\n", info.Problem)
		return err
	case info.Stale:
		_, err := fmt.Fprintf(stdout, "registry: %d disks from %s (stale: %s)\n", info.Disks, info.Source, info.Problem)
		return err
	}
	_, err := fmt.Fprintf(stdout, "registry: %d disks from %s\n", info.Disks, info.Source)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
