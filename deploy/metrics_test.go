package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/spdk-agent/spdk-agent/health"
)

// goldenScrape is the agent's /metrics of the simulated demo node, written
// by the module root's end-to-end test (TestE2E_metricsGolden), which runs
// the real binary with one managed disk. Every family the alerts and the
// dashboard use has a series there, but two only because that run makes
// them: spdk_agent_guard_decisions_total (one refused delete) and
// spdk_agent_spdk_rpc_errors_total (one call of an unknown bdev). Their
// (method, rule) and (method, kind) label sets are too many to start at
// zero, so an agent that never refused or failed has no series of them;
// the SPDKAgentGuardRefusals alert is written to fire on a series' first
// sample. The disk families exist only when the agent manages disks.
//
// The file lies outside this module, where go test's cache does not look:
// run with -count=1 (make test does) after the golden file changes.
const goldenScrape = "../testdata/metrics-e2e.golden"

// exported returns the metric families of the golden scrape by their
// "# TYPE" lines: a family the agent registers but never fills, or one
// that exists only in the health package's tables, is not in it.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(goldenScrape)
	if err != nil {
		t.Fatalf("the golden scrape (go test -run TestE2E_metricsGolden -update in the module root writes it): %v", err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, _, _ := strings.Cut(rest, " ")
			names[name] = true
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s has no # TYPE line", goldenScrape)
	}
	return names
}

// TestGoldenScrape_documented checks that the agent's scrape holds only
// metrics the health package documents (go doc ./health lists them).
func TestGoldenScrape_documented(t *testing.T) {
	documented := health.MetricNames()
	for name := range exported(t) {
		if !slices.Contains(documented, name) {
			t.Errorf("%s exports %s, which health.MetricNames does not list", goldenScrape, name)
		}
	}
}

var metricRef = regexp.MustCompile(`\bspdk_agent_[a-z0-9_]+`)

// unknownMetrics returns the spdk_agent_ names in expr the agent does not
// export. A histogram is exported as its _bucket, _sum and _count series.
func unknownMetrics(expr string, names map[string]bool) []string {
	var unknown []string
	for _, ref := range metricRef.FindAllString(expr, -1) {
		if names[ref] {
			continue
		}
		found := false
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(ref, suffix); ok && names[base] {
				found = true
			}
		}
		if !found {
			unknown = append(unknown, ref)
		}
	}
	return unknown
}

func TestUnknownMetrics(t *testing.T) {
	names := map[string]bool{"spdk_agent_a_seconds": true, "spdk_agent_b": true}
	got := unknownMetrics(`rate(spdk_agent_a_seconds_bucket[5m]) + spdk_agent_b + spdk_agent_c_total`, names)
	if !slices.Equal(got, []string{"spdk_agent_c_total"}) {
		t.Errorf("unknownMetrics = %q, want only spdk_agent_c_total", got)
	}
}

func rules(t *testing.T) []monitoringv1.Rule {
	t.Helper()
	pr := find[*monitoringv1.PrometheusRule](t, decodeAll(t))
	var rs []monitoringv1.Rule
	for _, g := range pr.Spec.Groups {
		rs = append(rs, g.Rules...)
	}
	return rs
}

func TestAlertsAndDashboard_useExportedMetrics(t *testing.T) {
	names := exported(t)
	exprs := dashboardExprs(t)
	for _, r := range rules(t) {
		exprs = append(exprs, r.Expr.String())
	}
	used := 0
	for _, e := range exprs {
		used += len(metricRef.FindAllString(e, -1))
		if u := unknownMetrics(e, names); len(u) > 0 {
			t.Errorf("%q uses metrics absent from the agent's scrape %s: %q", e, goldenScrape, u)
		}
	}
	if used == 0 {
		t.Fatal("no spdk_agent_ metric found in the alerts and dashboard: the test reads nothing")
	}
}

func TestAlerts(t *testing.T) {
	want := []string{
		"SPDKAgentSPDKDown", "SPDKAgentGraphStale", "SPDKAgentGraphIncomplete",
		"SPDKAgentGuardRefusals", "SPDKAgentDiskUUIDCollision", "SPDKAgentLvstoreNearlyFull",
		"SPDKAgentOrphanLvols", "SPDKAgentRegistryUpdatesRejected",
	}
	seen := map[string]bool{}
	for _, r := range rules(t) {
		if r.Alert == "" {
			t.Errorf("rule %q is not an alert", r.Record)
			continue
		}
		if seen[r.Alert] {
			t.Errorf("alert %s defined twice", r.Alert)
		}
		seen[r.Alert] = true
		if s := r.Labels["severity"]; s != "warning" && s != "critical" {
			t.Errorf("alert %s severity %q, want warning or critical", r.Alert, s)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s lacks a summary or description", r.Alert)
		}
		if strings.Count(r.Expr.String(), "(") != strings.Count(r.Expr.String(), ")") {
			t.Errorf("alert %s: unbalanced parentheses in %q", r.Alert, r.Expr.String())
		}
	}
	for _, a := range want {
		if !seen[a] {
			t.Errorf("alert %s is missing", a)
		}
	}
}
