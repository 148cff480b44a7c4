package health

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics_methods(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg, BuildInfo{Version: "v1.2.3", GoVersion: "go1.26.0", Revision: "abc123"})
	m.ObserveRPC("bdev_get_bdevs", 8*time.Millisecond, "")
	m.ObserveRPC("bdev_get_bdevs", 12*time.Millisecond, "timeout")
	m.ObserveRPC("bdev_lvol_delete", 3*time.Millisecond, "enodev")
	m.Reconnected()
	m.Reconnected()
	m.SetSPDKUp(true, "SPDK v26.05")
	m.SetSPDKUp(false, "")
	m.NotificationsProcessed(7)
	m.GraphSynced(SyncFull)
	m.GraphSynced(SyncIncremental)
	m.GraphSynced(SyncIncremental)
	m.GuardDecision("bdev_lvol_delete", "refuse", "backing_image")
	m.CleanupStep(CleanupRefused)
	m.AuditRecord()

	const want = `
# HELP spdk_agent_audit_records_total Records written to the audit log of destructive operations.
# TYPE spdk_agent_audit_records_total counter
spdk_agent_audit_records_total 1
# HELP spdk_agent_build_info Version of the agent binary; always 1.
# TYPE spdk_agent_build_info gauge
spdk_agent_build_info{goversion="go1.26.0",revision="abc123",version="v1.2.3"} 1
# HELP spdk_agent_cleanup_steps_total Steps of cleanup plans by result (deleted, refused, skipped).
# TYPE spdk_agent_cleanup_steps_total counter
spdk_agent_cleanup_steps_total{result="deleted"} 0
spdk_agent_cleanup_steps_total{result="refused"} 1
spdk_agent_cleanup_steps_total{result="skipped"} 0
# HELP spdk_agent_graph_syncs_total Lvol graph refreshes by mode (full, incremental).
# TYPE spdk_agent_graph_syncs_total counter
spdk_agent_graph_syncs_total{mode="full"} 1
spdk_agent_graph_syncs_total{mode="incremental"} 2
# HELP spdk_agent_guard_decisions_total Guard decisions on destructive calls by SPDK method, decision and rule.
# TYPE spdk_agent_guard_decisions_total counter
spdk_agent_guard_decisions_total{decision="refuse",method="bdev_lvol_delete",rule="backing_image"} 1
# HELP spdk_agent_notifications_processed_total SPDK notifications (bdev registered, unregistered, ...) the agent processed.
# TYPE spdk_agent_notifications_processed_total counter
spdk_agent_notifications_processed_total 7
# HELP spdk_agent_spdk_info Version of the SPDK the agent is connected to; always 1.
# TYPE spdk_agent_spdk_info gauge
spdk_agent_spdk_info{version="SPDK v26.05"} 1
# HELP spdk_agent_spdk_reconnects_total Connections to SPDK's RPC socket re-established after a loss.
# TYPE spdk_agent_spdk_reconnects_total counter
spdk_agent_spdk_reconnects_total 2
# HELP spdk_agent_spdk_rpc_errors_total SPDK JSON-RPC calls that failed, by method and kind of error.
# TYPE spdk_agent_spdk_rpc_errors_total counter
spdk_agent_spdk_rpc_errors_total{kind="enodev",method="bdev_lvol_delete"} 1
spdk_agent_spdk_rpc_errors_total{kind="timeout",method="bdev_get_bdevs"} 1
# HELP spdk_agent_spdk_up 1 if SPDK answered the agent's last call, 0 otherwise.
# TYPE spdk_agent_spdk_up gauge
spdk_agent_spdk_up 0
`
	names := []string{
		"spdk_agent_audit_records_total", "spdk_agent_build_info", "spdk_agent_cleanup_steps_total",
		"spdk_agent_graph_syncs_total", "spdk_agent_guard_decisions_total",
		"spdk_agent_notifications_processed_total", "spdk_agent_spdk_info",
		"spdk_agent_spdk_reconnects_total", "spdk_agent_spdk_rpc_errors_total", "spdk_agent_spdk_up",
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.rpcDuration); n != 2 {
		t.Errorf("rpc duration series = %d, want one per method (2)", n)
	}
	// 8 ms and 12 ms of bdev_get_bdevs: both above the 5 ms bound, one
	// below 10 ms.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "spdk_agent_spdk_rpc_duration_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if mt.GetLabel()[0].GetValue() != "bdev_get_bdevs" {
				continue
			}
			h := mt.GetHistogram()
			if h.GetSampleCount() != 2 || h.GetSampleSum() < 0.0199 || h.GetSampleSum() > 0.0201 {
				t.Errorf("bdev_get_bdevs histogram count=%d sum=%v, want 2 and 0.02", h.GetSampleCount(), h.GetSampleSum())
			}
			for _, b := range h.GetBucket() {
				var want uint64
				switch {
				case b.GetUpperBound() >= 0.025:
					want = 2
				case b.GetUpperBound() >= 0.01:
					want = 1
				}
				if b.GetCumulativeCount() != want {
					t.Errorf("bucket le=%v has %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
				}
			}
		}
	}
}

func TestMetrics_spdkVersionChange(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), BuildInfo{})
	m.SetSPDKUp(true, "SPDK v26.01")
	m.SetSPDKUp(true, "SPDK v26.05")
	const want = `
# HELP spdk_agent_spdk_info Version of the SPDK the agent is connected to; always 1.
# TYPE spdk_agent_spdk_info gauge
spdk_agent_spdk_info{version="SPDK v26.05"} 1
`
	if err := testutil.CollectAndCompare(m.spdkInfo, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestLint runs promlint over every metric the package exports.
func TestLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	touchAll(NewMetrics(reg, BuildInfo{Version: "v", GoVersion: "go", Revision: "r"}))
	if err := RegisterCollectors(reg, StateFunc(testState), CollectorOptions{PerLvol: true, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// The pedantic registry also checks that Describe and Collect agree.
	if _, err := reg.Gather(); err != nil {
		t.Error(err)
	}
}

// TestMetricNames_matchDocTable checks that the table in doc.go lists
// exactly the metrics the package exports, and that MetricNames sees every
// descriptor the collectors declare.
func TestMetricNames_matchDocTable(t *testing.T) {
	names := MetricNames()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile(`(?m)^//\t(spdk_agent_\w+)\s+(counter|gauge|histogram)\b`).FindAllStringSubmatch(string(src), -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(documented)
	if !slices.Equal(documented, names) {
		t.Errorf("doc.go table lists\n%v\nMetricNames returns\n%v", documented, names)
	}

	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, BuildInfo{})
	descs := make(chan *prometheus.Desc, 100)
	for _, c := range append(m.collectors(),
		NewNodeCollector(StateFunc(testState), CollectorOptions{PerLvol: true}),
		NewIOStatCollector(StateFunc(testState)), NewDiskCollector(StateFunc(testState)),
	) {
		c.Describe(descs)
	}
	close(descs)
	if len(descs) != len(names) {
		t.Errorf("collectors declare %d descriptors, MetricNames returns %d names", len(descs), len(names))
	}
}

func TestMetrics_methodLabelIsBounded(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), BuildInfo{})
	for i := range maxMethods + 10 {
		m.ObserveRPC(fmt.Sprintf("method_%d", i), time.Millisecond, "")
	}
	m.ObserveRPC("method_0", time.Millisecond, "")
	m.GuardDecision("bdev_lvol_delete", "refuse", "backing_image")
	if n := testutil.CollectAndCount(m.rpcDuration); n != maxMethods+1 {
		t.Errorf("rpc duration series = %d, want %d methods and other", n, maxMethods+1)
	}
	if v := testutil.ToFloat64(m.guardDecisions.WithLabelValues("other", "refuse", "backing_image")); v != 1 {
		t.Errorf("a new method past the limit: other = %v, want 1", v)
	}
	h := m.rpcDuration.WithLabelValues("method_0").(prometheus.Histogram)
	if n := testutil.CollectAndCount(h); n != 1 {
		t.Errorf("method_0 lost its series")
	}
}
