package health

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// volatile matches the sample lines whose value depends on when the test
// runs; their values are masked before comparing.
var volatile = regexp.MustCompile(`(?m)^(spdk_agent_graph_age_seconds(?:\{[^}]*\})?) .*$`)

func maskVolatile(s string) string { return volatile.ReplaceAllString(s, "$1 <volatile>") }

// goldenServer is a server as the agent wires it: heartbeats for livez,
// SPDK down for readyz, and every metric the package exports.
func goldenServer(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg, BuildInfo{Version: "v0.1.0", GoVersion: "go1.26.0", Revision: "0123abcd"})
	m.SetSPDKUp(true, "SPDK v26.05")
	m.ObserveRPC("bdev_get_bdevs", 7*time.Millisecond, "")
	m.ObserveRPC("bdev_lvol_get_lvols", 9*time.Millisecond, "")
	m.ObserveRPC("bdev_lvol_delete", 8*time.Millisecond, "enodev")
	m.Reconnected()
	m.SetSPDKUp(false, "")
	m.NotificationsProcessed(12)
	m.GraphSynced(SyncFull)
	m.GraphSynced(SyncIncremental)
	m.GuardDecision("bdev_lvol_delete", "refuse", "backing_image")
	m.GuardDecision("bdev_lvol_delete", "allow", "no_dependents")
	m.CleanupStep(CleanupDeleted)
	m.CleanupStep(CleanupRefused)
	m.AuditRecord()
	st := testState()
	st.SyncedAt = time.Now().Add(-3 * time.Second)
	if err := RegisterCollectors(reg, constState(st), CollectorOptions{PerLvol: true}); err != nil {
		t.Fatal(err)
	}
	refresh := NewHeartbeat(time.Minute)
	return serve(t, NewServer(Options{
		Livez: []Check{refresh.Check("refresh-loop"), NewHeartbeat(time.Minute).Check("api-server")},
		Readyz: []Check{
			{Name: "spdk", Run: failWith("spdk_get_version: dial unix /var/tmp/spdk.sock: connect: no such file or directory")},
			{Name: "graph", Run: failWith("graph stale: last synced 3m0s ago (limit 1m0s)")},
			{Name: "disks", Run: pass},
			{Name: "registry", Run: pass},
		},
		Gatherer: reg,
		Logger:   slog.New(slog.DiscardHandler),
	}))
}

// TestGolden compares what the server answers with testdata/*.golden;
// run with -update to rewrite them. The README shows these files.
func TestGolden(t *testing.T) {
	sock := goldenServer(t)
	for _, tc := range []struct {
		path, file string
		status     int
	}{
		{"/metrics", "metrics.golden", 200},
		{"/readyz?verbose", "readyz_verbose.golden", 503},
		{"/livez?verbose", "livez_verbose.golden", 200},
	} {
		t.Run(tc.file, func(t *testing.T) {
			status, body := probe(t, sock, tc.path)
			if status != tc.status {
				t.Errorf("GET %s = %d, want %d", tc.path, status, tc.status)
			}
			got := maskVolatile(body)
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("GET %s differs from %s (run go test -update to accept):\n%s", tc.path, path, lineDiff(string(want), got))
			}
		})
	}
}

func TestMaskVolatile(t *testing.T) {
	in := "spdk_agent_graph_age_seconds 3.0001\nspdk_agent_graph_generation 42\n"
	want := "spdk_agent_graph_age_seconds <volatile>\nspdk_agent_graph_generation 42\n"
	if got := maskVolatile(in); got != want {
		t.Errorf("maskVolatile = %q, want %q", got, want)
	}
}

// lineDiff names the first differing line, which is enough to find it.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return ""
}
