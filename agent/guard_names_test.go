package agent

import (
	"context"
	"encoding/json"
	"testing"
)

// lvstoreWithClone makes, straight on SPDK, lvstore lvs on a new malloc
// bdev holding snapshot s and its only clone v, and waits until the agent
// sees it.
func lvstoreWithClone(t *testing.T, n *node, bdev, lvs string) {
	t.Helper()
	ctx := context.Background()
	before := n.status(t).Graph.Lvstores
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for _, s := range []struct{ m, p string }{
		{"bdev_malloc_create", `{"name":` + q(bdev) + `,"num_blocks":16384,"block_size":4096}`},
		{"bdev_lvol_create_lvstore", `{"bdev_name":` + q(bdev) + `,"lvs_name":` + q(lvs) + `}`},
		{"bdev_lvol_create", `{"lvs_name":` + q(lvs) + `,"lvol_name":"v","size_in_mib":4,"thin_provision":true}`},
		{"bdev_lvol_snapshot", `{"lvol_name":` + q(lvs+"/v") + `,"snapshot_name":"s"}`},
	} {
		if _, err := n.spdk.CallRaw(ctx, s.m, json.RawMessage(s.p)); err != nil {
			t.Fatalf("%s: %v", s.m, err)
		}
	}
	n.waitFor(t, "the new lvstore", func(s Status) bool { return s.Graph.Lvstores == before+1 && s.Graph.Complete })
}

// TestGuard_lvstoreNamesSPDKAccepts: SPDK takes any lvstore name, one with
// a '/' or one shaped like a UUID included. Each way of naming such an
// lvstore or its lvols must reach the graph's rules, not "unknown, let SPDK
// answer": SPDK would delete the lvstore with its lvols, or merge the
// snapshot into its clone.
func TestGuard_lvstoreNamesSPDKAccepts(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	for _, tt := range []struct{ bdev, lvs string }{
		{"M8", "a/b"},
		{"M9", "0a1b2c3d-0000-4000-8000-00000000abcd"},
	} {
		t.Run(tt.lvs, func(t *testing.T) {
			lvstoreWithClone(t, n, tt.bdev, tt.lvs)
			_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", tt.lvs+"/s"))
			refusedWith(t, err, "has-dependents")
			_, err = n.via.CallRaw(ctx, "bdev_lvol_delete_lvstore", params("lvs_name", tt.lvs))
			refusedWith(t, err, "lvstore-not-empty")
			_, err = n.via.CallRaw(ctx, "bdev_malloc_delete", params("name", tt.bdev))
			refusedWith(t, err, "lvstore-base")
			if !n.lvolExists(t, tt.lvs+"/s") || !n.lvolExists(t, tt.lvs+"/v") {
				t.Fatal("a refused call deleted an lvol")
			}
		})
	}
}
