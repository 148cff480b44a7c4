package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// demoFollower builds the simulator's demo node (deterministic UUIDs for a
// given seed) and returns a follower that has read it in process, the way
// it reads SPDK.
func demoFollower(tb testing.TB, seed int64) *follower {
	tb.Helper()
	sim := spdksim.New(spdksim.Options{Seed: seed})
	ctx := context.Background()
	if _, err := sim.BuildDemoNode(ctx, tb.TempDir()); err != nil {
		tb.Fatal(err)
	}
	seen, err := loadSeen(filepath.Join(tb.TempDir(), seenFileName))
	if err != nil {
		tb.Fatal(err)
	}
	f := newFollower(targetSession{sim.Target()}, seen, Config{}.withDefaults())
	if err := f.fullSync(ctx); err != nil {
		tb.Fatal(err)
	}
	return f
}

// demoGraph returns the demo node as agent_get_graph would answer, read
// and confirmed at the epoch by an agent connected to SPDK.
func demoGraph(t *testing.T) GraphReply {
	snap := *demoFollower(t, 7).current()
	snap.ReadAt = time.Unix(0, 0)
	return graphReply(&snap, nil, freshness{connected: true, confirmedAt: snap.ReadAt, now: snap.ReadAt.Add(time.Second), maxAge: 30 * time.Second})
}

// degradedDemoGraph is demoGraph after SPDK went away for 42 s, then came
// back without lvs-malloc.
func degradedDemoGraph(t *testing.T) GraphReply {
	snap := *demoFollower(t, 7).current()
	snap.ReadAt = time.Unix(0, 0)
	snap.Missing = []string{"lvs-malloc (6d1aadc9-e503-4e4b-99bf-11ae0a796ebc)"}
	return graphReply(&snap, nil, freshness{connected: false, confirmedAt: snap.ReadAt, now: snap.ReadAt.Add(42 * time.Second), maxAge: 30 * time.Second})
}

// targetSession calls a simulated target in process.
type targetSession struct{ t *spdksim.Target }

func (s targetSession) CallRaw(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	if len(params) == 0 {
		return s.t.Call(ctx, method, nil)
	}
	return s.t.Call(ctx, method, params)
}

func (targetSession) WaitConnected(context.Context) error { return nil }

func TestRender_golden(t *testing.T) {
	g, degraded := demoGraph(t), degradedDemoGraph(t)
	for _, tt := range []struct {
		file   string
		render func(*bytes.Buffer)
	}{
		{"tree.golden", func(b *bytes.Buffer) { RenderTree(b, g) }},
		{"tree-degraded.golden", func(b *bytes.Buffer) { RenderTree(b, degraded) }},
		{"graph.dot.golden", func(b *bytes.Buffer) { RenderDOT(b, g) }},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var got bytes.Buffer
			tt.render(&got)
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", tt.file, got.String(), want)
			}
		})
	}
}

func TestRenderPlan_namesLvstoreAndSkipsRepeatedSubject(t *testing.T) {
	p := PlanReply{Complete: true, LvstoreName: "lvs0"}
	p.Lvstore, p.Replica, p.Generation = "6d1aadc9-e503-4e4b-99bf-11ae0a796ebc", "r-10", 4
	p.Refused = []lvolgraph.Refusal{{Alias: "lvs0/bi-x", Rule: lvolgraph.RuleBackingImage,
		Reason: "lvs0/bi-x is a backing image of r-1's chain: its clone lvs0/r-1-snap-a is owned by r-1"}}
	var b bytes.Buffer
	RenderPlan(&b, p)
	for _, want := range []string{
		"cleanup plan for replica r-10 in lvstore lvs0 (6d1aadc9-e503-4e4b-99bf-11ae0a796ebc), graph generation 4\n",
		"  delete, in this order (0):\n",
		"    - lvs0/bi-x [backing-image]: is a backing image of r-1's chain: its clone lvs0/r-1-snap-a is owned by r-1\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRenderDOT_graphvizRendersIt hands the golden DOT to Graphviz, which
// CI installs: the output is meant to be piped into "dot -Tsvg".
func TestRenderDOT_graphvizRendersIt(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz's dot is not installed (CI installs it)")
	}
	out, err := exec.Command(dot, "-Tsvg", filepath.Join("testdata", "graph.dot.golden")).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("<svg")) {
		t.Fatalf("dot -Tsvg: %v\n%.500s", err, out)
	}
}
