package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/diskid"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// get fetches path from the agent's health socket.
func (n *node) get(t *testing.T, path string) (int, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", n.cfg.HealthSocket)
	}}}
	resp, err := c.Get("http://agent" + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealth_probesAndMetrics(t *testing.T) {
	n := startNode(t, nodeOpts{health: true, allowSelf: true})
	if code, body := n.get(t, "/livez"); code != 200 {
		t.Errorf("/livez = %d %q", code, body)
	}
	if code, body := n.get(t, "/readyz?verbose"); code != 200 || !strings.Contains(body, "[+]graph ok") {
		t.Errorf("/readyz = %d %q", code, body)
	}
	_, err := n.via.CallRaw(context.Background(), "bdev_lvol_delete", params("name", n.demo.SharedImage))
	refusedWith(t, err, "backing-image")
	_, metrics := n.get(t, "/metrics")
	for _, want := range []string{
		"spdk_agent_graph_complete 1",
		"spdk_agent_spdk_up 1",
		`spdk_agent_guard_decisions_total{decision="refuse",method="bdev_lvol_delete",rule="backing-image"} 1`,
		`spdk_agent_lvstore_lvols{kind="snapshot",lvstore="` + spdksim.DemoMallocLvstore + `"`,
		`spdk_agent_graph_syncs_total{mode="full"}`,
		"spdk_agent_audit_records_total",
		// The demo node's one orphan: r-50 is gone, its expired head stays.
		`spdk_agent_lvstore_orphan_lvols{lvstore="` + spdksim.DemoAioLvstore + `",lvstore_uuid="` + n.demo.AioLvstoreUUID + `"} 1`,
		`spdk_agent_lvstore_orphan_lvols{lvstore="` + spdksim.DemoMallocLvstore + `",lvstore_uuid="` + n.demo.MallocLvstoreUUID + `"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// SPDK gone: not ready, still live.
	n.sim.Crash()
	n.waitFor(t, "disconnected", func(s Status) bool { return !s.SPDK.Connected })
	if code, body := n.get(t, "/readyz"); code != 503 || !strings.Contains(body, "spdk") {
		t.Errorf("/readyz with SPDK down = %d %q, want 503 naming spdk", code, body)
	}
	if code, _ := n.get(t, "/livez"); code != 200 {
		t.Errorf("/livez with SPDK down = %d, want 200", code)
	}
}

func TestHealth_diskIdentities(t *testing.T) {
	n := startNode(t, nodeOpts{health: true})
	// Disks may be added at run time, so the check is there; without any
	// it passes and no disk metric is exported.
	n.waitFor(t, "a synced graph", func(s Status) bool { return s.Graph.Synced })
	if code, body := n.get(t, "/readyz?verbose"); code != 200 || !strings.Contains(body, "[+]disks ok") {
		t.Errorf("/readyz without disks = %d %q, want 200 with a passing disks check", code, body)
	}
	if _, m := n.get(t, "/metrics"); strings.Contains(m, "spdk_agent_disk_identities") {
		t.Error("/metrics has spdk_agent_disk_identities without disks")
	}
	d := startNode(t, nodeOpts{health: true, disk: true})
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := d.get(t, "/readyz?verbose")
		if code == 200 && strings.Contains(body, "[+]disks ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz with a managed disk = %d %q", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(d.cfg.Disks[0], diskid.IdentityFile)); err != nil {
		t.Errorf("the managed disk got no identity: %v", err)
	}
	if _, m := d.get(t, "/metrics"); !strings.Contains(m, "spdk_agent_disk_identities") {
		t.Error("/metrics lacks spdk_agent_disk_identities")
	}
}

// TestHealth_perLvolMetrics: one allocated-bytes series per lvol, only when
// asked for (cardinality).
func TestHealth_perLvolMetrics(t *testing.T) {
	for _, on := range []bool{false, true} {
		n := startNode(t, nodeOpts{health: true, edit: func(c *Config) { c.PerLvolMetrics = on }})
		_, metrics := n.get(t, "/metrics")
		series := strings.Count(metrics, "\nspdk_agent_lvol_allocated_bytes{")
		want := 0
		if on {
			g := n.agent.Current().Graph
			for _, s := range g.Lvstores() {
				want += len(g.Lvols(s.UUID))
			}
			if !strings.Contains(metrics, `spdk_agent_lvol_allocated_bytes{lvol="r-1",lvol_uuid="`) {
				t.Errorf("no allocated-bytes series for lvol r-1")
			}
		}
		if series != want || (on && want == 0) {
			t.Errorf("per-lvol metrics %v: %d series of spdk_agent_lvol_allocated_bytes, want %d", on, series, want)
		}
	}
}
