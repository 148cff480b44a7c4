package deploy

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/spdk-agent/spdk-agent/health"
)

// exported are the metric names the agent exports, histograms with their
// series suffixes.
func exported() map[string]bool {
	names := map[string]bool{}
	for _, n := range health.MetricNames() {
		names[n] = true
	}
	return names
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
	names := exported()
	exprs := dashboardExprs(t)
	for _, r := range rules(t) {
		exprs = append(exprs, r.Expr.String())
	}
	used := 0
	for _, e := range exprs {
		used += len(metricRef.FindAllString(e, -1))
		if u := unknownMetrics(e, names); len(u) > 0 {
			t.Errorf("%q uses metrics the agent does not export: %q", e, u)
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
