package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/agent"
)

func init() {
	register(&command{name: "run", summary: "run the agent beside spdk_tgt", run: runAgent})
}

// Default paths; every one is a flag with an SPDK_AGENT_* fallback.
const (
	defaultSPDKSocket   = "/var/tmp/spdk.sock"
	defaultRPCSocket    = "/run/spdk-agent/rpc.sock"
	defaultHealthSocket = "/run/spdk-agent/health.sock"
	defaultStateDir     = "/var/lib/spdk-agent"
)

// parseMethodTimeouts reads --method-timeout METHOD=DURATION values.
func parseMethodTimeouts(vals []string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, v := range vals {
		m, d, ok := strings.Cut(v, "=")
		dur, err := time.ParseDuration(d)
		if !ok || m == "" || err != nil {
			return nil, fmt.Errorf("%w: --method-timeout %q: want METHOD=DURATION, such as bdev_examine=2m", errUsage, v)
		}
		out[m] = dur
	}
	return out, nil
}

// listFlag is a repeatable flag whose default comes from a comma-separated
// environment variable.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if v == "" {
		return fmt.Errorf("empty value")
	}
	*l = append(*l, v)
	return nil
}

func envList(key string) listFlag {
	var out listFlag
	for _, v := range strings.Split(os.Getenv(key), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// ids parses numeric uids or gids.
func ids(flagName string, vals []string) ([]uint32, error) {
	var out []uint32
	for _, v := range vals {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: --%s %q is not a numeric id", errUsage, flagName, v)
		}
		out = append(out, uint32(n))
	}
	return out, nil
}

func newLogger(format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format %q: want text or json", errUsage, format)
}

func runAgent(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var cfg agent.Config
	def := agent.Defaults()
	fs.StringVar(&cfg.SPDKSocket, "spdk-socket", envDefault("SPDK_AGENT_SPDK_SOCKET", defaultSPDKSocket), "spdk_tgt's JSON-RPC socket (SPDK_AGENT_SPDK_SOCKET)")
	fs.StringVar(&cfg.RPCSocket, "rpc-socket", envDefault("SPDK_AGENT_RPC_SOCKET", defaultRPCSocket), "the agent's SPDK-compatible socket (SPDK_AGENT_RPC_SOCKET)")
	fs.StringVar(&cfg.HealthSocket, "health-socket", envDefault("SPDK_AGENT_HEALTH_SOCKET", defaultHealthSocket), "health and metrics socket; empty disables (SPDK_AGENT_HEALTH_SOCKET)")
	fs.StringVar(&cfg.StateDir, "state-dir", envDefault("SPDK_AGENT_STATE_DIR", defaultStateDir), "state directory: seen lvstores, audit log (SPDK_AGENT_STATE_DIR)")
	fs.StringVar(&cfg.MetricsAddress, "metrics-address", envDefault("SPDK_AGENT_METRICS_ADDRESS", ""), "optional TCP address for /metrics (SPDK_AGENT_METRICS_ADDRESS)")
	fs.DurationVar(&cfg.ResyncInterval, "resync-interval", envDuration("SPDK_AGENT_RESYNC_INTERVAL", def.ResyncInterval), "period of full syncs (SPDK_AGENT_RESYNC_INTERVAL)")
	fs.DurationVar(&cfg.NotifyInterval, "notify-interval", envDuration("SPDK_AGENT_NOTIFY_INTERVAL", def.NotifyInterval), "period of notification polls (SPDK_AGENT_NOTIFY_INTERVAL)")
	fs.IntVar(&cfg.SPDKMaxReply, "spdk-max-reply", int(envInt("SPDK_AGENT_SPDK_MAX_REPLY", 0)), "answer size in bytes at which SPDK cuts its answers (0: SPDK's 32 MiB); only to match a simulator run with --max-reply (SPDK_AGENT_SPDK_MAX_REPLY)")
	fs.IntVar(&cfg.ReadInPartsAbove, "read-in-parts-above", int(envInt("SPDK_AGENT_READ_IN_PARTS_ABOVE", int64(def.ReadInPartsAbove))), "lvol count above which full syncs read SPDK in parts, per lvstore and lvol, not in whole listings: SPDK cuts answers at 32 MiB, near 30k lvols (SPDK_AGENT_READ_IN_PARTS_ABOVE)")
	fs.BoolVar(&cfg.PerLvolMetrics, "per-lvol-metrics", envDefault("SPDK_AGENT_PER_LVOL_METRICS", "") == "1", "export series per lvol: spdk_agent_lvol_allocated_bytes and the lvols' bdev I/O counters (SPDK_AGENT_PER_LVOL_METRICS=1)")
	fs.DurationVar(&cfg.IOStatInterval, "iostat-interval", envDuration("SPDK_AGENT_IOSTAT_INTERVAL", def.IOStatInterval), "period of bdev_get_iostat reads for the I/O metrics (SPDK_AGENT_IOSTAT_INTERVAL)")
	fs.DurationVar(&cfg.MaxGraphAge, "max-graph-age", envDuration("SPDK_AGENT_MAX_GRAPH_AGE", def.MaxGraphAge), "older graphs are stale for destructive decisions (SPDK_AGENT_MAX_GRAPH_AGE)")
	expect := envList("SPDK_AGENT_EXPECT_LVSTORE")
	fs.Var(&expect, "expect-lvstore", "lvstore (name or UUID) that must be present; repeatable (SPDK_AGENT_EXPECT_LVSTORE, comma-separated)")
	uids, gids := envList("SPDK_AGENT_ALLOW_UID"), envList("SPDK_AGENT_ALLOW_GID")
	fs.Var(&uids, "allow-uid", "uid allowed to call mutating methods; repeatable (default 0; SPDK_AGENT_ALLOW_UID)")
	fs.Var(&gids, "allow-gid", "gid allowed to call mutating methods; repeatable (SPDK_AGENT_ALLOW_GID)")
	disks := envList("SPDK_AGENT_DISKS")
	fs.Var(&disks, "disk", "filesystem disk whose identity the agent keeps unique; repeatable (SPDK_AGENT_DISKS, comma-separated)")
	fs.StringVar(&cfg.Registry, "registry", envDefault("SPDK_AGENT_REGISTRY", ""), "kube: claim disk prefixes as Kubernetes Leases; or a cluster registry file of disk UUIDs (SPDK_AGENT_REGISTRY)")
	var kube kubeFlags
	kube.register(fs)
	hostname, _ := os.Hostname()
	fs.StringVar(&cfg.Node, "node", envDefault("SPDK_AGENT_NODE", envDefault("NODE_NAME", hostname)), "this node's name in the registry (SPDK_AGENT_NODE, then NODE_NAME, then the host name)")
	fs.DurationVar(&cfg.CallTimeout, "call-timeout", envDuration("SPDK_AGENT_CALL_TIMEOUT", def.CallTimeout), "deadline of one forwarded call; negative: none (SPDK_AGENT_CALL_TIMEOUT)")
	fs.IntVar(&cfg.MaxClients, "max-clients", int(envInt("SPDK_AGENT_MAX_CLIENTS", int64(def.MaxClients))), "connections the RPC socket serves at once (SPDK_AGENT_MAX_CLIENTS)")
	fs.IntVar(&cfg.ClientMaxCalls, "client-max-calls", int(envInt("SPDK_AGENT_CLIENT_MAX_CALLS", int64(def.ClientMaxCalls))), "calls in flight per RPC connection; further requests wait in the socket buffer; negative: no bound (SPDK_AGENT_CLIENT_MAX_CALLS)")
	fs.Int64Var(&cfg.ClientMaxUnread, "client-max-unread", envInt("SPDK_AGENT_CLIENT_MAX_UNREAD", def.ClientMaxUnread), "bytes of answers one client may leave unread before it is disconnected (SPDK_AGENT_CLIENT_MAX_UNREAD)")
	fs.Int64Var(&cfg.ReplyBudget, "reply-budget", envInt("SPDK_AGENT_REPLY_BUDGET", def.ReplyBudget), "bytes of unread answers of all clients; a client over its share is disconnected (SPDK_AGENT_REPLY_BUDGET)")
	fs.DurationVar(&cfg.ClientWriteTimeout, "client-write-timeout", envDuration("SPDK_AGENT_CLIENT_WRITE_TIMEOUT", def.ClientWriteTimeout), "disconnect a client that reads nothing of an answer for this long (SPDK_AGENT_CLIENT_WRITE_TIMEOUT)")
	fs.DurationVar(&cfg.ClientIdleTimeout, "client-idle-timeout", envDuration("SPDK_AGENT_CLIENT_IDLE_TIMEOUT", def.ClientIdleTimeout), "close an RPC connection idle this long with nothing owed; negative: never (SPDK_AGENT_CLIENT_IDLE_TIMEOUT)")
	fs.DurationVar(&cfg.HealthIdleTimeout, "health-idle-timeout", envDuration("SPDK_AGENT_HEALTH_IDLE_TIMEOUT", def.HealthIdleTimeout), "close an idle keep-alive connection of the health socket after this long (SPDK_AGENT_HEALTH_IDLE_TIMEOUT)")
	methodTimeouts := envList("SPDK_AGENT_METHOD_TIMEOUT")
	fs.Var(&methodTimeouts, "method-timeout", "METHOD=DURATION deadline for one method; repeatable (SPDK_AGENT_METHOD_TIMEOUT, comma-separated)")
	allowMethods := envList("SPDK_AGENT_ALLOW_METHOD")
	fs.Var(&allowMethods, "allow-method", "forward METHOD although the guard refuses or does not know it; repeatable (SPDK_AGENT_ALLOW_METHOD)")
	logFormat := fs.String("log-format", envDefault("SPDK_AGENT_LOG_FORMAT", "text"), "log format: text or json (SPDK_AGENT_LOG_FORMAT)")
	debug := fs.Bool("debug", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log, err := newLogger(*logFormat, level)
	if err != nil {
		return err
	}
	cfg.Logger = log
	agent.Version = version
	cfg.ExpectLvstores = expect
	cfg.AllowMethods = allowMethods
	if cfg.MethodTimeouts, err = parseMethodTimeouts(methodTimeouts); err != nil {
		return err
	}
	cfg.Disks = disks
	if cfg.AllowUIDs, err = ids("allow-uid", uids); err != nil {
		return err
	}
	if cfg.AllowGIDs, err = ids("allow-gid", gids); err != nil {
		return err
	}
	for _, p := range []string{cfg.RPCSocket, cfg.HealthSocket} {
		if p != "" {
			if err := os.MkdirAll(dirOf(p), 0o755); err != nil {
				return err
			}
		}
	}
	if cfg.Registry == registryKube {
		// The agent starts without waiting: until the claims are listed
		// it generates nothing and reports the registry not synced.
		store, stop, err := startClaims(ctx, kube, cfg.Node, time.Millisecond, log.With("part", "diskid"))
		if store == nil {
			return err
		}
		defer stop()
		cfg.Registry, cfg.Claims = "", store
	}
	a, err := agent.New(cfg)
	if errors.Is(err, agent.ErrConfig) {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "."
}
