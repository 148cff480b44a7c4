package spdksim

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden_demoNode pins the demo node's listings under a fixed seed:
// seeded UUIDs make whole replies comparable.
func TestGolden_demoNode(t *testing.T) {
	tg := NewTarget(Options{Seed: 42})
	if _, err := BuildDemoNode(context.Background(), tg.Call, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for _, m := range []string{"bdev_lvol_get_lvstores", "bdev_lvol_get_lvols"} {
		res, err := call(t, tg, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, res, "", "  "); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "# %s\n%s\n", m, pretty.Bytes())
	}
	const file = "testdata/demo_node.golden"
	if *update {
		if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("demo node differs from %s (run with -update if intended):\n%s", file, got.Bytes())
	}
}

func TestSeed_changesAfterRestart(t *testing.T) {
	a, b := NewTarget(Options{Seed: 7}), NewTarget(Options{Seed: 7})
	ua := must[string](t, a, "bdev_malloc_create", obj{"num_blocks": 1024, "block_size": 4096})
	ub := must[string](t, b, "bdev_malloc_create", obj{"num_blocks": 1024, "block_size": 4096})
	ia := must[[]struct{ UUID string }](t, a, "bdev_get_bdevs", obj{"name": ua})[0].UUID
	ib := must[[]struct{ UUID string }](t, b, "bdev_get_bdevs", obj{"name": ub})[0].UUID
	if ia != ib {
		t.Fatalf("same seed, different UUIDs %s %s", ia, ib)
	}
	a.Restart()
	must[string](t, a, "bdev_malloc_create", obj{"num_blocks": 1024, "block_size": 4096})
	if ic := must[[]struct{ UUID string }](t, a, "bdev_get_bdevs", nil)[0].UUID; ic == ia {
		t.Fatal("a restarted target repeated a UUID of its last life")
	}
}

// BenchmarkGetBdevs_2000 measures bdev_get_bdevs over 2000 lvols, the size
// of the recorded timing run (a real target: 32-53 ms).
func BenchmarkGetBdevs_2000(b *testing.B) {
	tg := NewTarget(Options{})
	addStore2000(b, tg)
	b.ResetTimer()
	for b.Loop() {
		if _, err := call(b, tg, "bdev_get_bdevs", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateLvol measures one thin bdev_lvol_create (real: 7.8 ms
// sequential, dominated by the poller).
func BenchmarkCreateLvol(b *testing.B) {
	tg := NewTarget(Options{})
	must[string](b, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 65536, "block_size": 4096})
	must[string](b, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "lvs0", "num_md_pages_per_cluster_ratio": 100000})
	i := 0
	for b.Loop() {
		i++
		if _, err := call(b, tg, "bdev_lvol_create", obj{"lvs_name": "lvs0", "lvol_name": fmt.Sprint("v", i), "size_in_mib": 16, "thin_provision": true}); err != nil {
			b.Fatal(err)
		}
	}
}

func addStore2000(b *testing.B, tg *Target) {
	must[string](b, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 65536, "block_size": 4096})
	must[string](b, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "lvs0", "num_md_pages_per_cluster_ratio": 4000})
	for i := range 2000 {
		must[string](b, tg, "bdev_lvol_create", obj{"lvs_name": "lvs0", "lvol_name": fmt.Sprint("vol", i), "size_in_mib": 16, "thin_provision": true})
	}
}
