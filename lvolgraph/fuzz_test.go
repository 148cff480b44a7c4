package lvolgraph

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// FuzzBuild builds graphs from arbitrary listings and runs every query,
// the planner and the guard on them: none may panic or loop.
func FuzzBuild(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"bdev_lvol_get_lvols":[{"uuid":"a","name":"x","is_clone":true,"lvs":{"uuid":"s"}}],` +
		`"bdev_get_bdevs":[{"name":"a","driver_specific":{"lvol":{"lvol_store_uuid":"s","clone":true,"snapshot":true,"base_snapshot":"x","clones":["x","x"]}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := decodeFixture(data)
		if err != nil {
			return
		}
		g := Build(1, testTime, in)
		exercise(g)
		// Feeding the same listings as an update must not panic either.
		exercise(g.Update(2, testTime, Update{Lvols: in.Lvols, Bdevs: in.Bdevs, Lvstores: in.Lvstores,
			RemovedBdevs: []spdkrpc.BdevName{"Malloc0", "a"}}))
	})
}

func exercise(g *Graph) {
	_ = g.Anomalies()
	_, _ = json.Marshal(g.Anomalies())
	for _, s := range g.Lvstores() {
		_ = g.Trustworthy(s.UUID)
		_ = g.Roots(s.UUID)
		_ = g.CheckDeleteLvstore(UUIDRef(s.UUID))
		_ = g.CheckDeleteBdev(s.BaseBdev)
		for _, l := range g.Lvols(s.UUID) {
			_, _ = g.Parent(l)
			_ = g.Ancestors(l)
			_ = g.Descendants(l)
			_ = g.Depth(l)
			_ = g.Root(l)
			_ = g.CheckDeleteLvol(UUIDRef(l.UUID))
			_ = g.CheckDeleteLvol(AliasRef(l.Alias))
			_, _ = PlanCleanup(g, CleanupRequest{Lvstore: UUIDRef(s.UUID), Replica: string(l.Name), Keep: []Ref{UUIDRef(l.UUID)}})
		}
		_, _ = PlanCleanup(g, CleanupRequest{Lvstore: NameRef(s.Name), Replica: "r"})
	}
	for _, b := range g.Bdevs() {
		_ = g.CheckDeleteBdev(b.Name)
	}
	_ = g.DependOnExternal()
	_ = Diff(nil, g)
}

// FuzzRef decodes references from arbitrary JSON: a decoded Ref is valid
// and survives a round trip.
func FuzzRef(f *testing.F) {
	for _, s := range []string{`"lvs0/vol1"`, `"800da8bc-906e-491c-b27d-26686b407e9b"`, `{"kind":"name","value":"x"}`,
		`{"kind":"uuid","value":""}`, `{"kind":"bogus","value":"x"}`, `""`, `7`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Ref
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		if !r.Valid() {
			t.Fatalf("decoded invalid ref %#v from %q", r, data)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Ref
		if err := json.Unmarshal(b, &back); err != nil || back != r {
			t.Fatalf("round trip %#v -> %s -> %#v, %v", r, b, back, err)
		}
	})
}
