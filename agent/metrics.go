package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/spdk-agent/spdk-agent/health"
	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Version is the agent's version, reported in spdk_agent_build_info; the
// command sets it from its link-time version.
var Version = "dev"

// agentMetrics feeds the agent's events to the health package's metrics
// and computes its scrape-time node state.
type agentMetrics struct {
	a    *Agent
	reg  *prometheus.Registry
	m    *health.Metrics
	beat *health.Heartbeat // the follower loop's
	once sync.Once         // the first connection is not a reconnect
}

func newAgentMetrics(a *Agent) *agentMetrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	am := &agentMetrics{
		a:   a,
		reg: reg,
		m:   health.NewMetrics(reg, health.BuildInfo{Version: Version, GoVersion: runtime.Version()}),
		// A full sync of a large node takes a while; only a loop stuck far
		// longer than that is not live.
		beat: health.NewHeartbeat(max(30*time.Second, 10*a.cfg.NotifyInterval)),
	}
	if err := health.RegisterCollectors(reg, health.StateFunc(a.nodeState), health.CollectorOptions{PerLvol: a.cfg.PerLvolMetrics}); err != nil {
		panic(fmt.Sprintf("agent: metrics wiring: %v", err)) // a programming mistake
	}
	return am
}

// errKind names an SPDK call's failure for the metrics' fixed label set.
func errKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, spdkrpc.ErrDisconnected), errors.Is(err, spdkrpc.ErrClosed):
		return "disconnected"
	case errors.Is(err, spdkrpc.ErrNotFound):
		return "enodev"
	case errors.Is(err, spdkrpc.ErrExists):
		return "eexist"
	case errors.Is(err, spdkrpc.ErrNotPermitted):
		return "eperm"
	case errors.Is(err, spdkrpc.ErrBusy):
		return "ebusy"
	case errors.Is(err, spdkrpc.ErrInvalidParams), errors.Is(err, spdkrpc.ErrInvalidArgument):
		return "invalid"
	case errors.Is(err, spdkrpc.ErrMethodNotFound):
		return "method_not_found"
	}
	return "other"
}

func (am *agentMetrics) callDone(method string, d time.Duration, err error) {
	am.m.ObserveRPC(method, d, errKind(err))
}

func (am *agentMetrics) connected(version string) {
	first := false
	am.once.Do(func() { first = true })
	if !first {
		am.m.Reconnected()
	}
	am.m.SetSPDKUp(true, version)
}

func (am *agentMetrics) disconnected(error) { am.m.SetSPDKUp(false, "") }

func (am *agentMetrics) guardDecision(method, rule string, allowed bool) {
	decision := "refuse"
	if allowed {
		decision = "allow"
	}
	am.m.GuardDecision(method, decision, rule)
}

func (am *agentMetrics) cleanupStep(outcome string) {
	switch outcome {
	case "deleted":
		am.m.CleanupStep(health.CleanupDeleted)
	case "skipped":
		am.m.CleanupStep(health.CleanupSkipped)
	default:
		am.m.CleanupStep(health.CleanupRefused)
	}
}

func (am *agentMetrics) followerHooks() followerHooks {
	return followerHooks{
		sync: func(kind string, _ time.Duration, err error) {
			if err != nil {
				return
			}
			if kind == "full" {
				am.m.GraphSynced(health.SyncFull)
			} else {
				am.m.GraphSynced(health.SyncIncremental)
			}
		},
		notifications: am.m.NotificationsProcessed,
		beat:          am.beat.Beat,
	}
}

func (am *agentMetrics) auditCounter() func(stage, decision string) {
	return func(string, string) { am.m.AuditRecord() }
}

// poolObserver observes the forwarding connections.
func (am *agentMetrics) poolObserver() spdkrpc.Observer { return poolObserver{am} }

type poolObserver struct{ am *agentMetrics }

func (o poolObserver) CallDone(method string, d time.Duration, err error) {
	o.am.callDone(method, d, err)
}
func (o poolObserver) Connected(string)   {}
func (o poolObserver) Disconnected(error) {}

// nodeState computes the health package's view of the node from the current
// snapshot, at scrape time. It never calls SPDK.
func (a *Agent) nodeState() health.NodeState {
	snap := a.follower.current()
	if snap == nil {
		return health.NodeState{IOStat: a.iostat.current(), Disks: a.diskState()}
	}
	g := snap.Graph
	st := health.NodeState{Generation: snap.Gen, Complete: snap.Complete(), SyncedAt: a.follower.confirmedAt(), IOStat: a.iostat.current(), Disks: a.diskState()}
	for _, s := range g.Lvstores() {
		ls := health.LvstoreState{Name: string(s.Name), UUID: string(s.UUID), TotalBytes: s.TotalBytes, FreeBytes: s.FreeBytes, ClusterSize: s.ClusterSize}
		for _, l := range g.Lvols(s.UUID) {
			ls.ProvisionedBytes += l.Size
			switch {
			case l.Degraded:
				ls.Lvols.Degraded++
			case l.EsnapClone:
				ls.Lvols.EsnapClone++
			case l.Snapshot:
				ls.Lvols.Snapshot++
			case l.Clone:
				ls.Lvols.Clone++
			default:
				ls.Lvols.Plain++
			}
			if d := g.Depth(l) + 1; d > ls.MaxChainDepth {
				ls.MaxChainDepth = d
			}
			if g.CheckDeleteLvol(lvolgraph.UUIDRef(l.UUID)).Rule == lvolgraph.RuleBackingImage {
				ls.Protected++
			}
			if a.cfg.PerLvolMetrics {
				st.Lvols = append(st.Lvols, health.LvolState{Lvstore: string(s.Name), Name: string(l.Name), UUID: string(l.UUID), AllocatedBytes: l.Allocated})
			}
		}
		ls.Orphans = len(g.Orphans(s.UUID, lvolgraph.DefaultOwnership))
		st.Lvstores = append(st.Lvstores, ls)
	}
	return st
}

// Readiness checks.
func (a *Agent) checkSPDK(context.Context) error {
	if !a.follower.connected.Load() {
		return fmt.Errorf("not connected to SPDK at %s", a.cfg.SPDKSocket)
	}
	if a.follower.unanswered.Load() {
		return fmt.Errorf("SPDK at %s does not answer: last read %v ago", a.cfg.SPDKSocket, time.Since(a.follower.confirmedAt()).Round(time.Millisecond))
	}
	return nil
}

func (a *Agent) checkGraph(context.Context) error {
	snap := a.follower.current()
	switch {
	case snap == nil || !snap.Synced:
		return errors.New("graph not synced since the agent connected")
	case !snap.Complete():
		return fmt.Errorf("graph incomplete: expected lvstores missing: %v", snap.Missing)
	}
	if age := time.Since(a.follower.confirmedAt()); age > a.cfg.MaxGraphAge {
		return fmt.Errorf("graph stale: last read %v ago (limit %v)", age.Round(time.Millisecond), a.cfg.MaxGraphAge)
	}
	return nil
}

// startHealth serves /livez, /readyz and /metrics on the health socket and,
// when configured, /metrics (and the probes) on a TCP address.
func (a *Agent) startHealth(ctx context.Context, wg *sync.WaitGroup, errc chan<- error) {
	if a.cfg.HealthSocket == "" && a.cfg.MetricsAddress == "" {
		return
	}
	ready := []health.Check{{Name: "spdk", Run: a.checkSPDK}, {Name: "graph", Run: a.checkGraph}}
	if a.disks != nil {
		ready = append(ready, health.Check{Name: "disks", Run: a.checkDisks})
	}
	srv := health.NewServer(health.Options{
		// Liveness is the agent's own: its loop runs and its RPC socket
		// answers. SPDK's state is readiness; a restart would not fix it.
		Livez:       []health.Check{a.metrics.beat.Check("follow-loop"), {Name: "rpc-socket", Run: a.checkRPCSocket}},
		IdleTimeout: max(a.cfg.HealthIdleTimeout, 0),
		Readyz:      ready,
		Gatherer:    a.metrics.reg,
		Logger:      a.log,
	})
	if a.cfg.HealthSocket != "" {
		wg.Go(func() {
			if err := srv.ListenAndServe(ctx, a.cfg.HealthSocket, 0o660); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("agent: health socket %s: %w", a.cfg.HealthSocket, err)
			}
		})
	}
	if a.cfg.MetricsAddress != "" {
		ln, err := net.Listen("tcp", a.cfg.MetricsAddress)
		if err != nil {
			errc <- fmt.Errorf("agent: --metrics-address %s: %w", a.cfg.MetricsAddress, err)
			return
		}
		wg.Go(func() { _ = srv.Serve(ctx, ln) })
	}
}
