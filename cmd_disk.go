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
	"strconv"
	"strings"
	"text/tabwriter"

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

flags (each with an environment fallback):
  --disk PATH          a filesystem disk, repeatable ($SPDK_AGENT_DISKS, comma-separated)
  --registry FILE      cluster registry of disk UUIDs ($SPDK_AGENT_REGISTRY)
  --state-dir DIR      where the last good registry is kept ($SPDK_AGENT_STATE_DIR)
  --node NAME          this node's name in the registry ($SPDK_AGENT_NODE)
  --prefix-len N       hex digits that must be unique ($SPDK_AGENT_PREFIX_LEN, default 4)
  -o text|json         output format`

// diskFlags are the flags every disk subcommand takes.
type diskFlags struct {
	disks     stringList
	registry  string
	stateDir  string
	node      string
	prefixLen int
	output    string
	force     bool
}

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
	fs.StringVar(&f.registry, "registry", envDefault("SPDK_AGENT_REGISTRY", ""), "cluster registry file")
	fs.StringVar(&f.stateDir, "state-dir", envDefault("SPDK_AGENT_STATE_DIR", ""), "state directory")
	fs.StringVar(&f.node, "node", envDefault("SPDK_AGENT_NODE", ""), "this node's name in the registry")
	prefixLen, err := strconv.Atoi(envDefault("SPDK_AGENT_PREFIX_LEN", strconv.Itoa(diskid.DefaultPrefixLen)))
	if err != nil {
		return fmt.Errorf("%w: SPDK_AGENT_PREFIX_LEN: %v", errUsage, err)
	}
	fs.IntVar(&f.prefixLen, "prefix-len", prefixLen, "hex digits of a disk UUID that must be unique")
	fs.StringVar(&f.output, "o", "text", "output format: text or json")
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
	switch sub {
	case "list", "check":
		if len(pos) > 0 {
			return fmt.Errorf("%w: %s takes no arguments (use --disk PATH)", errUsage, sub)
		}
		return diskList(ctx, f, sub == "check", stdout, stderr)
	case "init":
		if len(pos) == 0 {
			return fmt.Errorf("%w: init needs at least one disk PATH", errUsage)
		}
		return diskInit(ctx, f, pos, stdout, stderr)
	case "regenerate":
		if len(pos) != 1 {
			return fmt.Errorf("%w: regenerate needs exactly one disk PATH", errUsage)
		}
		if !f.force {
			return fmt.Errorf("%w: regenerate changes the identity other components know the disk by: evict the disk, then pass --force", errUsage)
		}
		return diskRegenerate(ctx, f, pos[0], stdout, stderr)
	default:
		fmt.Fprintln(stderr, diskUsage)
		return fmt.Errorf("%w: unknown disk subcommand %q", errUsage, sub)
	}
}

// parseInterspersed parses flags that may come after positional arguments
// ("regenerate PATH --force"), which package flag alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newDiskManager builds a Manager for one command: regeneration is never
// automatic here, the commands only report or do what they are told.
func newDiskManager(ctx context.Context, f diskFlags, stderr io.Writer) (*diskid.Manager, error) {
	cfg := diskid.DefaultConfig()
	cfg.RegenerateUnused = false
	cfg.Node, cfg.PrefixLen = f.node, f.prefixLen
	cfg.RegistryPath, cfg.StateDir = f.registry, f.stateDir
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := diskid.NewManager(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, d := range f.disks {
		if _, err := m.Add(d); err != nil {
			return nil, fmt.Errorf("%w: --disk %q: %v", errUsage, d, err)
		}
	}
	// A rejected registry is logged and shown in the output; the
	// commands still report on the local disks.
	_ = m.ReloadRegistry(ctx)
	return m, nil
}

// diskReport is the -o json output of list, check and init.
type diskReport struct {
	Disks    []diskid.DiskStatus `json:"disks"`
	Registry diskid.RegistryInfo `json:"registry"`
	Counters diskid.Counters     `json:"counters"`
}

func diskList(ctx context.Context, f diskFlags, check bool, stdout, stderr io.Writer) error {
	m, err := newDiskManager(ctx, f, stderr)
	if err != nil {
		return err
	}
	disks, err := m.Check(ctx)
	if err != nil {
		return err
	}
	if err := printDisks(m, disks, f.output, stdout); err != nil {
		return err
	}
	if !check {
		return nil
	}
	var bad []string
	for _, d := range disks {
		if d.State != diskid.StateOK {
			bad = append(bad, fmt.Sprintf("%s (%s)", diskLabel(d), d.State))
		}
	}
	if _, info, ok := m.Registry(); f.registry != "" && !ok {
		bad = append(bad, info.Problem)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d problem(s): %s", len(bad), strings.Join(bad, "; "))
	}
	return nil
}

func diskInit(ctx context.Context, f diskFlags, paths []string, stdout, stderr io.Writer) error {
	m, err := newDiskManager(ctx, f, stderr)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range paths {
		if _, err := m.Init(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := printDisks(m, m.Disks(), f.output, stdout); err != nil {
		return err
	}
	return errors.Join(errs...)
}

func diskRegenerate(ctx context.Context, f diskFlags, path string, stdout, stderr io.Writer) error {
	f.disks = append(f.disks, path)
	m, err := newDiskManager(ctx, f, stderr)
	if err != nil {
		return err
	}
	// Load every disk first so that the new UUID avoids all their prefixes.
	if _, err := m.Check(ctx); err != nil {
		return err
	}
	old, next, err := m.Regenerate(ctx, path, f.force)
	if err != nil {
		return err
	}
	if f.output == "json" {
		return writeJSON(stdout, map[string]string{"path": path, "old_uuid": string(old), "new_uuid": string(next)})
	}
	if old == "" {
		old = "(damaged)"
	}
	_, err = fmt.Fprintf(stdout, "regenerated %s: %s -> %s\n", path, old, next)
	return err
}

func printDisks(m *diskid.Manager, disks []diskid.DiskStatus, output string, stdout io.Writer) error {
	_, info, _ := m.Registry()
	if output == "json" {
		if disks == nil {
			disks = []diskid.DiskStatus{}
		}
		return writeJSON(stdout, diskReport{Disks: disks, Registry: info, Counters: m.Counters()})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DISK\tKIND\tUUID\tPREFIX\tSTATE\tCONDITIONS")
	for _, d := range disks {
		var conds []string
		for _, c := range d.Conditions {
			conds = append(conds, string(c.Type)+": "+c.Message)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", diskLabel(d), d.Kind, orDash(string(d.UUID)),
			orDash(d.Prefix), d.State, orDash(strings.Join(conds, "; ")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case info.Path == "":
		_, err := fmt.Fprintln(stdout, "registry: none configured (collisions checked among local disks only)")
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

func diskLabel(d diskid.DiskStatus) string {
	if d.Kind == diskid.KindLvstore {
		return "lvstore " + string(d.Lvstore)
	}
	return d.Path
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
