package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spdk-agent/spdk-agent/agent/guard"
	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// Agent is the daemon: it follows SPDK, answers queries and guards the
// calls that pass through its SPDK-compatible socket. Make one with New and
// start it with Run.
type Agent struct {
	cfg      Config
	log      *slog.Logger
	follower *follower
	pool     rawCaller
	allow    allowList
	audit    *auditor
	seen     *seenStore
	locks    *keyedLocks // disk operations, by path
	// gate serializes graph-changing calls (see gate.go); uncertain
	// holds the objects of those SPDK did not answer in time; lastState
	// is the guard's last fresh read, for calls that need none.
	gate     gate
	removals removalQueue
	// metadataFull holds the lvstores out of metadata pages; ratios the
	// metadata ratio of those made through the agent (UUID -> uint64).
	metadataFull storeSet
	ratios       sync.Map
	uncertain    *uncertainSet
	lastState    atomic.Pointer[guard.State]
	metrics      *agentMetrics // nil when metrics are off
	server       *spdkserver.Server
	clients      []*spdkrpc.Client
	disks        *diskid.Manager // nil when no disks are managed
	diskRegs     *diskRegistrations
	iostat       *iostatPoller

	// readOnly holds the lvols set read-only through the agent.
	readOnly *readOnlyStore
	// spdkMethods holds SPDK's last answer to rpc_get_methods per params.
	spdkMethods       sync.Map // string -> []string
	methodsRefreshing atomic.Bool

	callMu  sync.Mutex // protects closing
	closing bool
	calls   sync.WaitGroup // in-flight requests
}

// New checks cfg, prepares the state directory and starts connecting to
// SPDK; nothing is served until Run.
func New(cfg Config) (*Agent, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("agent: state directory: %w", err)
	}
	seen, err := loadSeen(cfg.statePath(seenFileName))
	if err != nil {
		return nil, err
	}
	aud, err := openAuditor(cfg.statePath(auditFileName), cfg.Logger)
	if err != nil {
		return nil, err
	}
	ro, err := loadReadOnly(cfg.statePath(readOnlyFileName))
	if err != nil {
		aud.close()
		return nil, err
	}
	regs, err := loadDiskRegistrations(cfg.statePath(diskRegFileName))
	if err != nil {
		aud.close()
		return nil, err
	}
	disks, err := newDiskManager(cfg, regs.list())
	if err != nil {
		aud.close()
		return nil, err
	}
	a := &Agent{
		disks:     disks,
		diskRegs:  regs,
		cfg:       cfg,
		log:       cfg.Logger,
		allow:     allowList{uids: cfg.AllowUIDs, gids: cfg.AllowGIDs},
		audit:     aud,
		seen:      seen,
		readOnly:  ro,
		locks:     newKeyedLocks(),
		gate:      newGate(),
		uncertain: newUncertainSet(),
	}
	a.metrics = newAgentMetrics(a)
	// The follower exists before its client: the client's observer may
	// report the first connection before spdkrpc.New returns.
	a.follower = newFollower(nil, seen, cfg)
	a.follower.hooks = a.metrics.followerHooks()
	a.follower.hooks.lvstores = a.rememberLvstoreDisks
	a.follower.hooks.fullSync = a.pruneReadOnly
	a.follower.hooks.complete = a.saveGraph
	if snap, err := loadLastGraph(cfg.statePath(lastGraphFileName)); err != nil {
		cfg.Logger.Warn("not serving the last graph saved", "err", err)
	} else if snap != nil {
		a.follower.publish(snap)
		cfg.Logger.Info("serving the graph saved by the last run, stale until SPDK is read", "read_at", snap.ReadAt, "lvols", snap.Graph.Len())
	}
	obs := &sessionObserver{a: a}
	followClient := spdkrpc.New(cfg.SPDKSocket, spdkrpc.Options{Observer: obs, Logger: cfg.Logger.With("conn", "follow"), MaxReply: cfg.SPDKMaxReply})
	a.clients = append(a.clients, followClient)
	a.follower.session = followClient
	a.iostat = newIOStatPoller(followClient, a.iostatScope, cfg.IOStatInterval, cfg.Logger)
	a.follower.hooks.sync = a.iostat.afterFullSync(a.follower.hooks.sync)
	a.follower.r = &reader{c: followClient, timeout: cfg.timeoutFor("bdev_get_bdevs")}
	conns := make([]rawCaller, cfg.PoolSize)
	poolLog := slog.New(debugOnly{cfg.Logger.Handler()})
	for i := range conns {
		c := spdkrpc.New(cfg.SPDKSocket, spdkrpc.Options{Observer: a.metrics.poolObserver(), Logger: poolLog.With("conn", fmt.Sprintf("pool-%d", i)), MaxReply: cfg.SPDKMaxReply})
		a.clients = append(a.clients, c)
		conns[i] = c
	}
	a.pool = newPool(conns)
	a.audit.count = a.metrics.auditCounter()
	a.server = spdkserver.New(a, spdkserver.Options{Logger: cfg.Logger.With("socket", "rpc"), MaxConns: cfg.MaxClients, Limits: cfg.clientLimits()})
	return a, nil
}

// Current returns the latest published snapshot; nil before the first sync.
func (a *Agent) Current() *Snapshot { return a.follower.current() }

// Run serves until ctx ends, then shuts down gracefully: new requests are
// refused, in-flight ones drained (at most Config.ShutdownTimeout), then
// the sockets and SPDK connections closed.
func (a *Agent) Run(ctx context.Context) error {
	inner, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { a.follower.run(inner) })
	wg.Go(func() { a.iostat.run(inner) })
	if a.disks != nil {
		wg.Go(func() { a.runDisks(inner) })
	}
	w := &socketWatcher{path: a.cfg.SPDKSocket, log: a.log, onCreate: a.reconnectAll, onRemove: a.follower.onDisconnected}
	wg.Go(func() {
		if err := w.run(inner); err != nil {
			a.log.Warn("not watching the SPDK socket; reconnects rely on backoff", "err", err)
		}
	})
	serveCtx, stopServe := context.WithCancel(context.Background())
	defer stopServe()
	errc := make(chan error, 3)
	var servers sync.WaitGroup
	servers.Go(func() {
		if err := a.server.ListenAndServe(serveCtx, a.cfg.RPCSocket, a.cfg.RPCSocketMode); err != nil && !errors.Is(err, spdkserver.ErrServerClosed) && serveCtx.Err() == nil {
			errc <- fmt.Errorf("agent: rpc socket %s: %w", a.cfg.RPCSocket, err)
		}
	})
	a.startHealth(serveCtx, &servers, errc)
	a.log.Info("agent running", "spdk_socket", a.cfg.SPDKSocket, "rpc_socket", a.cfg.RPCSocket, "health_socket", a.cfg.HealthSocket, "state_dir", a.cfg.StateDir)
	if why := directReach(a.cfg.SPDKSocket); why != "" {
		a.log.Warn("not the sole gateway: clients can call spdk_tgt directly, and the guard cannot close races with them (see the README's Sole gateway)", "why", why)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down: draining in-flight calls", "timeout", a.cfg.ShutdownTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	// The socket stops reading and waits until every call it read has been
	// answered and the answer written; the drain then covers notifications,
	// whose handling goes on without an answer owed.
	if err := errors.Join(a.server.Shutdown(dctx), a.drainCalls(dctx)); err != nil {
		a.log.Warn("shutdown: in-flight calls did not finish in time; their callers get no answer", "timeout", a.cfg.ShutdownTimeout)
	}
	cancel()
	stopServe()
	servers.Wait()
	stop()
	wg.Wait()
	for _, c := range a.clients {
		_ = c.Close()
	}
	if err := a.audit.close(); err != nil && runErr == nil {
		runErr = err
	}
	a.log.Info("agent stopped")
	return runErr
}

// saveGraph keeps the listings of a complete full sync in the state
// directory, for the next start.
func (a *Agent) saveGraph(st fullState, readAt time.Time) {
	if err := saveLastGraph(a.cfg.statePath(lastGraphFileName), st, readAt); err != nil {
		a.log.Error("saving the last graph", "err", err)
	}
}

// reconnectAll redials every SPDK connection now: a new socket appeared.
func (a *Agent) reconnectAll() {
	for _, c := range a.clients {
		c.Reconnect()
	}
}

// sessionObserver tells the follower about its connection and feeds metrics.
type sessionObserver struct{ a *Agent }

func (o *sessionObserver) CallDone(method string, d time.Duration, err error) {
	o.a.metrics.callDone(method, d, err)
}

func (o *sessionObserver) Connected(version string) {
	o.a.follower.onConnected()
	o.a.metrics.connected(version)
}

func (o *sessionObserver) Disconnected(err error) {
	o.a.follower.onDisconnected()
	o.a.metrics.disconnected(err)
}
