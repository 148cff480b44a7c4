package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// Config is everything the agent needs to run. Host paths are fields (and,
// in the command, flags with environment fallbacks) so that tests and the
// demo run without root.
type Config struct {
	// SPDKSocket is spdk_tgt's JSON-RPC socket.
	SPDKSocket string
	// RPCSocket is where the agent serves its SPDK-compatible socket.
	RPCSocket string
	// RPCSocketMode is the file mode of RPCSocket (default 0660).
	RPCSocketMode os.FileMode
	// HealthSocket serves /livez, /readyz and /metrics; empty disables it.
	HealthSocket string
	// MetricsAddress optionally serves the same HTTP handlers on TCP.
	MetricsAddress string
	// StateDir holds the seen-lvstores file and the audit log.
	StateDir string

	// ResyncInterval is the period of full syncs between notification-driven
	// updates (default 5m).
	ResyncInterval time.Duration
	// NotifyInterval is the period of notify_get_notifications polls
	// (default 50ms).
	NotifyInterval time.Duration
	// ReadInPartsAbove is the lvol count above which a full sync reads
	// SPDK's state in parts (per lvstore, per lvol) instead of in three
	// whole listings, whose answers would grow past SPDK's 32 MiB send
	// buffer near 30k lvols (default 4096; it reads whole again below
	// half of it).
	ReadInPartsAbove int
	// SPDKMaxReply is the answer size at which SPDK cuts its answers
	// (default spdkrpc.MaxReplySize, SPDK v26.05's 32 MiB send buffer): a
	// reply that reaches it unfinished is known to be cut at once. Set it
	// only to match a simulator run with a lower --max-reply.
	SPDKMaxReply int
	// IOStatInterval is the period of bdev_get_iostat reads for the
	// per-bdev I/O metrics (default 10s); full syncs also read it.
	IOStatInterval time.Duration
	// PerLvolMetrics exports spdk_agent_lvol_allocated_bytes and the
	// lvols' bdev I/O counters, series per lvol: off by default, since a
	// node can hold a hundred thousand. Without it bdev_get_iostat is read
	// for the bdevs that are not lvols only.
	PerLvolMetrics bool
	// MaxGraphAge is how old the last confirmed read may be before
	// destructive decisions are refused as stale (default 30s).
	MaxGraphAge time.Duration
	// ExpectLvstores names lvstores (by name or UUID) that must be present
	// before the graph counts as complete.
	ExpectLvstores []string

	// AllowUIDs and AllowGIDs may call mutating methods (default uid 0).
	AllowUIDs []uint32
	AllowGIDs []uint32

	// MaxClients is how many connections the RPC socket serves at once
	// (default 1024): far more than SPDK's 64, since local clients share
	// the agent's few SPDK connections.
	MaxClients int
	// ClientMaxCalls bounds the calls in flight of one client connection
	// (default 64): further requests wait in the socket's buffer, so a
	// pipelining client gets its share and no more.
	ClientMaxCalls int
	// ClientMaxUnread bounds the answers one client has not read yet
	// (default 64 MiB, above SPDK's largest answer): beyond it the client
	// is disconnected.
	ClientMaxUnread int64
	// ReplyBudget bounds the unread answers of all clients together
	// (default 512 MiB); a client over its share of it is disconnected.
	ReplyBudget int64
	// ClientWriteTimeout disconnects a client that reads no part of an
	// answer for this long (default 30s).
	ClientWriteTimeout time.Duration
	// ClientIdleTimeout closes an RPC connection that sends nothing while
	// no answer is owed (default 5m); HealthIdleTimeout closes idle
	// keep-alive connections of the health socket (default 60s).
	// Negative: none.
	ClientIdleTimeout time.Duration
	HealthIdleTimeout time.Duration
	// PoolSize is the number of SPDK connections used to forward calls
	// (default 4; SPDK accepts 64 connections in all).
	PoolSize int
	// ShutdownTimeout bounds how long in-flight calls are drained on stop
	// (default 20s).
	ShutdownTimeout time.Duration
	// CallTimeout bounds one forwarded call (default 10s; negative: none,
	// as SPDK itself has none). A call past it is answered with an error,
	// releases the guard's lock, and leaves the objects it named uncertain
	// until SPDK answers it or a fresh read shows them gone.
	CallTimeout time.Duration
	// MethodTimeouts override CallTimeout per method, for the slow ones
	// (examine, inflate, attaching controllers); see defaultMethodTimeouts.
	MethodTimeouts map[string]time.Duration
	// AllowMethods are methods forwarded although the guard's table
	// refuses them or does not know them (a newer SPDK's).
	AllowMethods []string

	// Disks are filesystem disks (directories) whose identities the agent
	// keeps unique; Registry is the cluster registry of disk UUIDs (a
	// mounted ConfigMap) and Node this node's name in it. All optional.
	Disks    []string
	Registry string
	Node     string
	// Claims, when set, is the cluster's set of disk prefix claims (the
	// Kubernetes registry), used instead of Registry.
	Claims diskid.ClaimStore

	// Logger receives the structured log; nil discards it.
	Logger *slog.Logger
}

// defaultMethodTimeouts are the calls that may take longer than
// CallTimeout's default on a healthy SPDK: they copy data, wait for
// examine, or connect to remote controllers.
var defaultMethodTimeouts = map[string]time.Duration{
	"bdev_examine":                60 * time.Second,
	"bdev_wait_for_examine":       60 * time.Second,
	"bdev_lvol_inflate":           5 * time.Minute,
	"bdev_lvol_decouple_parent":   5 * time.Minute,
	"bdev_lvol_delete_lvstore":    60 * time.Second,
	"bdev_lvol_create_lvstore":    60 * time.Second,
	"bdev_lvol_grow_lvstore":      60 * time.Second,
	"bdev_nvme_attach_controller": 60 * time.Second,
	"bdev_nvme_start_discovery":   60 * time.Second,
	"bdev_raid_create":            60 * time.Second,
}

// timeoutFor returns the deadline of one forwarded call of method; zero
// means none.
func (c Config) timeoutFor(method string) time.Duration {
	if d, ok := c.MethodTimeouts[method]; ok {
		return max(d, 0)
	}
	return max(c.CallTimeout, 0)
}

// ErrConfig is returned by Validate (wrapped) for an unusable configuration.
var ErrConfig = errors.New("agent: invalid configuration")

// MaxSocketPath is the longest path a Unix socket may have on Linux.
const MaxSocketPath = 107

// Defaults returns what each zero field of a Config means; the run command
// shows these as its flags' defaults, so that they are written once.
func Defaults() Config {
	d := Config{}.withDefaults()
	d.Logger = nil
	return d
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.RPCSocketMode == 0 {
		c.RPCSocketMode = 0o660
	}
	if c.ReadInPartsAbove == 0 {
		c.ReadInPartsAbove = 4096
	}
	if c.ResyncInterval == 0 {
		c.ResyncInterval = 5 * time.Minute
	}
	if c.NotifyInterval == 0 {
		c.NotifyInterval = 50 * time.Millisecond
	}
	if c.IOStatInterval == 0 {
		c.IOStatInterval = 10 * time.Second
	}
	if c.MaxGraphAge == 0 {
		c.MaxGraphAge = 30 * time.Second
	}
	if c.AllowUIDs == nil && c.AllowGIDs == nil {
		c.AllowUIDs = []uint32{0}
	}
	if c.MaxClients == 0 {
		c.MaxClients = 1024
	}
	if c.ClientMaxCalls == 0 {
		c.ClientMaxCalls = 16
	}
	if c.ClientMaxUnread == 0 {
		c.ClientMaxUnread = 64 << 20
	}
	if c.ReplyBudget == 0 {
		c.ReplyBudget = 512 << 20
	}
	if c.ClientWriteTimeout == 0 {
		c.ClientWriteTimeout = 30 * time.Second
	}
	if c.ClientIdleTimeout == 0 {
		c.ClientIdleTimeout = 5 * time.Minute
	}
	if c.HealthIdleTimeout == 0 {
		c.HealthIdleTimeout = 60 * time.Second
	}
	if c.PoolSize == 0 {
		c.PoolSize = 4
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 20 * time.Second
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 10 * time.Second
	}
	mt := maps.Clone(defaultMethodTimeouts)
	maps.Copy(mt, c.MethodTimeouts)
	c.MethodTimeouts = mt
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Validate reports the first unusable field, naming it.
func (c Config) Validate() error {
	for _, s := range []struct{ flag, path string }{
		{"spdk-socket", c.SPDKSocket}, {"rpc-socket", c.RPCSocket}, {"health-socket", c.HealthSocket},
	} {
		if s.path == "" && s.flag != "health-socket" {
			return fmt.Errorf("%w: --%s is empty", ErrConfig, s.flag)
		}
		if len(s.path) > MaxSocketPath {
			return fmt.Errorf("%w: --%s %q is %d bytes, Unix sockets allow %d", ErrConfig, s.flag, s.path, len(s.path), MaxSocketPath)
		}
	}
	if c.StateDir == "" {
		return fmt.Errorf("%w: --state-dir is empty", ErrConfig)
	}
	if c.SPDKSocket == c.RPCSocket {
		return fmt.Errorf("%w: --rpc-socket %q is also the SPDK socket", ErrConfig, c.RPCSocket)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"resync-interval", c.ResyncInterval}, {"notify-interval", c.NotifyInterval}, {"max-graph-age", c.MaxGraphAge}, {"iostat-interval", c.IOStatInterval}} {
		if d.v < 0 {
			return fmt.Errorf("%w: --%s %v is negative", ErrConfig, d.flag, d.v)
		}
	}
	if c.SPDKMaxReply < 0 {
		return fmt.Errorf("%w: --spdk-max-reply %d is negative", ErrConfig, c.SPDKMaxReply)
	}
	if c.ReadInPartsAbove < 0 {
		return fmt.Errorf("%w: --read-in-parts-above %d is negative", ErrConfig, c.ReadInPartsAbove)
	}
	if c.PoolSize < 0 || c.PoolSize > 32 {
		return fmt.Errorf("%w: pool size %d is outside 1..32 (SPDK accepts 64 connections)", ErrConfig, c.PoolSize)
	}
	for _, e := range c.ExpectLvstores {
		if e == "" || len(e) > 63 && !spdkrpc.IsUUID(e) {
			return fmt.Errorf("%w: --expect-lvstore %q is not an lvstore name or UUID", ErrConfig, e)
		}
	}
	return nil
}

// clientLimits returns what each client of the RPC socket may hold.
func (c Config) clientLimits() spdkserver.Limits {
	return spdkserver.Limits{
		MaxInFlight:    max(c.ClientMaxCalls, 0),
		MaxQueuedBytes: max(c.ClientMaxUnread, 0),
		Budget:         max(c.ReplyBudget, 0),
		WriteTimeout:   max(c.ClientWriteTimeout, 0),
		IdleTimeout:    max(c.ClientIdleTimeout, 0),
	}
}

// statePath returns the path of a file in the state directory.
func (c Config) statePath(name string) string { return filepath.Join(c.StateDir, name) }
