package health

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo describes the running binary, exported as
// spdk_agent_build_info{version, goversion, revision} 1.
type BuildInfo struct {
	Version   string
	GoVersion string
	Revision  string
}

// Values of the label "mode" of spdk_agent_graph_syncs_total.
const (
	SyncFull        = "full"
	SyncIncremental = "incremental"
)

// Values of the label "result" of spdk_agent_cleanup_steps_total.
const (
	CleanupDeleted = "deleted"
	CleanupRefused = "refused"
	CleanupSkipped = "skipped"
)

// rpcDurationBuckets span one SPDK poll (4 ms, so about 8 ms a call) up to
// the slowest calls the agent makes (lvstore loads, large deletes).
var rpcDurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics are the agent's own counters: what it asked SPDK and what it
// decided. The methods are safe for concurrent use. Label values must come
// from fixed sets (method names the agent knows, rule names, error kinds):
// never pass a string a client sent, or the series multiply without bound.
// As a last defence, method names past the first 512 distinct ones are
// counted as "other".
type Metrics struct {
	rpcDuration    *prometheus.HistogramVec
	rpcErrors      *prometheus.CounterVec
	reconnects     prometheus.Counter
	spdkUp         prometheus.Gauge
	spdkInfo       *prometheus.GaugeVec
	notifications  prometheus.Counter
	syncs          *prometheus.CounterVec
	guardDecisions *prometheus.CounterVec
	cleanupSteps   *prometheus.CounterVec
	auditRecords   prometheus.Counter
	buildInfo      *prometheus.GaugeVec

	methods labelCap // bounds the method label of every metric
}

// maxMethods bounds the distinct values of the method label. SPDK has a few
// hundred methods; a caller passing client-supplied names by mistake must
// not create series without bound.
const maxMethods = 512

// otherMethod replaces method names past maxMethods.
const otherMethod = "other"

// labelCap admits up to limit distinct label values, then maps every new
// value to otherMethod.
type labelCap struct {
	limit int
	mu    sync.Mutex          // protects seen
	seen  map[string]struct{} // values admitted so far
}

func (c *labelCap) value(v string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[v]; ok {
		return v
	}
	if len(c.seen) >= c.limit {
		return otherMethod
	}
	if c.seen == nil {
		c.seen = map[string]struct{}{}
	}
	c.seen[v] = struct{}{}
	return v
}

// NewMetrics creates the agent's metrics and registers them with reg.
// It panics if they are already registered there, like
// prometheus.MustRegister: that is a programming error.
func NewMetrics(reg prometheus.Registerer, bi BuildInfo) *Metrics {
	m := &Metrics{
		methods: labelCap{limit: maxMethods},
		rpcDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "spdk", Name: "rpc_duration_seconds",
			Help:    "Duration of SPDK JSON-RPC calls by method, errors included.",
			Buckets: rpcDurationBuckets,
		}, []string{"method"}),
		rpcErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "spdk", Name: "rpc_errors_total",
			Help: "SPDK JSON-RPC calls that failed, by method and kind of error.",
		}, []string{"method", "kind"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "spdk", Name: "reconnects_total",
			Help: "Connections to SPDK's RPC socket re-established after a loss.",
		}),
		spdkUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "spdk", Name: "up",
			Help: "1 if SPDK answered the agent's last call, 0 otherwise.",
		}),
		spdkInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "spdk", Name: "info",
			Help: "Version of the SPDK the agent is connected to; always 1.",
		}, []string{"version"}),
		notifications: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "notifications_processed_total",
			Help: "SPDK notifications (bdev registered, unregistered, ...) the agent processed.",
		}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "graph", Name: "syncs_total",
			Help: "Lvol graph refreshes by mode (full, incremental).",
		}, []string{"mode"}),
		guardDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "guard", Name: "decisions_total",
			Help: "Guard decisions on destructive calls by SPDK method, decision and rule.",
		}, []string{"method", "decision", "rule"}),
		cleanupSteps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "cleanup", Name: "steps_total",
			Help: "Steps of cleanup plans by result (deleted, refused, skipped).",
		}, []string{"result"}),
		auditRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "audit", Name: "records_total",
			Help: "Records written to the audit log of destructive operations.",
		}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "build_info",
			Help: "Version of the agent binary; always 1.",
		}, []string{"version", "goversion", "revision"}),
	}
	reg.MustRegister(m.collectors()...)

	// Series with known label values start at zero so that rate() and
	// alerts see the first increment, not the second.
	for _, mode := range []string{SyncFull, SyncIncremental} {
		m.syncs.WithLabelValues(mode)
	}
	for _, r := range []string{CleanupDeleted, CleanupRefused, CleanupSkipped} {
		m.cleanupSteps.WithLabelValues(r)
	}
	m.buildInfo.WithLabelValues(bi.Version, bi.GoVersion, bi.Revision).Set(1)
	return m
}

// collectors lists every metric of m.
func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.rpcDuration, m.rpcErrors, m.reconnects, m.spdkUp, m.spdkInfo, m.notifications,
		m.syncs, m.guardDecisions, m.cleanupSteps, m.auditRecords, m.buildInfo,
	}
}

// ObserveRPC records one SPDK call of method that took d. errKind is empty
// for a success, otherwise a short fixed word ("enodev", "timeout",
// "disconnected", ...) chosen by the caller.
func (m *Metrics) ObserveRPC(method string, d time.Duration, errKind string) {
	method = m.methods.value(method)
	m.rpcDuration.WithLabelValues(method).Observe(d.Seconds())
	if errKind != "" {
		m.rpcErrors.WithLabelValues(method, errKind).Inc()
	}
}

// Reconnected counts one re-established connection to SPDK.
func (m *Metrics) Reconnected() { m.reconnects.Inc() }

// SetSPDKUp records whether SPDK answers and, when known, its version
// (spdk_get_version's "version"). An empty version keeps the last one known:
// SPDK down does not make its version unknown.
func (m *Metrics) SetSPDKUp(up bool, version string) {
	m.spdkUp.Set(boolFloat(up))
	if version != "" {
		m.spdkInfo.Reset()
		m.spdkInfo.WithLabelValues(version).Set(1)
	}
}

// NotificationsProcessed counts n SPDK notifications processed.
func (m *Metrics) NotificationsProcessed(n int) { m.notifications.Add(float64(n)) }

// GraphSynced counts one graph refresh of mode SyncFull or SyncIncremental.
func (m *Metrics) GraphSynced(mode string) { m.syncs.WithLabelValues(mode).Inc() }

// GuardDecision counts one guard decision ("allow", "refuse") on method,
// taken by rule.
func (m *Metrics) GuardDecision(method, decision, rule string) {
	method = m.methods.value(method)
	m.guardDecisions.WithLabelValues(method, decision, rule).Inc()
}

// CleanupStep counts one step of a cleanup plan with result CleanupDeleted,
// CleanupRefused or CleanupSkipped.
func (m *Metrics) CleanupStep(result string) { m.cleanupSteps.WithLabelValues(result).Inc() }

// AuditRecord counts one record written to the audit log.
func (m *Metrics) AuditRecord() { m.auditRecords.Inc() }
