package deploy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "regenerate grafana-dashboard-configmap.yaml from grafana-dashboard.json")

const (
	dashboardFile          = "grafana-dashboard.json"
	dashboardConfigMapFile = "grafana-dashboard-configmap.yaml"
	dashboardKey           = "spdk-agent.json"
	dashboardUID           = "spdk-agent-node"
)

// dashboard is the part of a Grafana dashboard the tests look at.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		GridPos struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) (dashboard, []byte) {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d, raw
}

// dashboardExprs returns every PromQL expression of the dashboard, the
// template variables' queries included.
func dashboardExprs(t *testing.T) []string {
	d, _ := loadDashboard(t)
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs = append(exprs, string(v.Query))
	}
	return exprs
}

func TestDashboard(t *testing.T) {
	d, _ := loadDashboard(t)
	if d.UID != dashboardUID {
		t.Errorf("uid = %q, want the fixed %q (links and provisioning use it)", d.UID, dashboardUID)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["node"] != "query" {
		t.Errorf("template variables %v, want datasource (datasource) and node (query)", vars)
	}
	ids := map[int]bool{}
	var titles []string
	for _, p := range d.Panels {
		titles = append(titles, strings.ToLower(p.Title))
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q uses datasource %q, want ${datasource}", p.Title, p.Datasource.UID)
		}
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %q gridPos %+v is off the 24-column grid", p.Title, p.GridPos)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if !strings.Contains(tg.Expr, `node=~"$node"`) {
				t.Errorf("panel %q query ignores the node variable: %s", p.Title, tg.Expr)
			}
		}
	}
	all := strings.Join(titles, "\n")
	for _, topic := range []string{"capacity", "lvols by kind", "chain", "rpc latency", "errors", "guard decisions", "reconnects"} {
		if !strings.Contains(all, topic) {
			t.Errorf("no panel about %q; panels: %q", topic, titles)
		}
	}
}

// TestDashboardConfigMap checks that the ConfigMap for Grafana's dashboard
// sidecar embeds exactly the dashboard file; -update regenerates it.
func TestDashboardConfigMap(t *testing.T) {
	_, raw := loadDashboard(t)
	if *update {
		cm := corev1.ConfigMap{}
		cm.APIVersion, cm.Kind = "v1", "ConfigMap"
		cm.Name = "spdk-agent-grafana-dashboard"
		cm.Labels = map[string]string{
			"app.kubernetes.io/name":      "spdk-agent",
			"app.kubernetes.io/component": "node-agent",
			"grafana_dashboard":           "1",
		}
		cm.Data = map[string]string{dashboardKey: string(raw)}
		out, err := yaml.Marshal(cm)
		if err != nil {
			t.Fatal(err)
		}
		header := "# Generated from " + dashboardFile + " by `go test -run TestDashboardConfigMap -update`.\n" +
			"# Grafana's dashboard sidecar loads ConfigMaps labelled grafana_dashboard=\"1\".\n"
		if err := os.WriteFile(dashboardConfigMapFile, append([]byte(header), out...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := decodeFile(dashboardConfigMapFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("%s holds %d objects, want 1", dashboardConfigMapFile, len(objs))
	}
	cm, ok := objs[0].obj.(*corev1.ConfigMap)
	if !ok {
		t.Fatalf("%s holds a %s, want a ConfigMap", dashboardConfigMapFile, objs[0].kind)
	}
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("labels %v lack grafana_dashboard: \"1\"", cm.Labels)
	}
	if len(cm.Data) != 1 {
		t.Errorf("data has %d keys, want only %s", len(cm.Data), dashboardKey)
	}
	if got := cm.Data[dashboardKey]; !bytes.Equal([]byte(got), raw) {
		t.Errorf("%s does not embed %s as it is (run go test -update)", dashboardConfigMapFile, dashboardFile)
	}
}
