package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// An lvol set read-only straight on SPDK, which lists read-only nowhere:
// SPDK moves the bdev alias, then fails the rename. The agent renames it
// back at once, so SPDK's listings agree again.
func TestRealAndSim_renameOfLvolSetReadOnlyOnSPDK(t *testing.T) {
	backends(t, renameOfLvolSetReadOnlyOnSPDK)
}

func renameOfLvolSetReadOnlyOnSPDK(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{allowSelf: true, real: real, noDemo: true})
	ctx := context.Background()
	for _, c := range []struct{ method, params string }{
		{"bdev_malloc_create", `{"name":"ro0","num_blocks":8192,"block_size":4096}`},
		{"bdev_lvol_create_lvstore", `{"bdev_name":"ro0","lvs_name":"lvsRO"}`},
		{"bdev_lvol_create", `{"lvs_name":"lvsRO","lvol_name":"w","size_in_mib":4}`},
		{"bdev_lvol_set_read_only", `{"name":"lvsRO/w"}`},
	} {
		if _, err := n.spdk.CallRaw(ctx, c.method, json.RawMessage(c.params)); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
	}
	_, err := n.via.CallRaw(ctx, "bdev_lvol_rename", params("old_name", "lvsRO/w", "new_name", "w2"))
	if err == nil {
		t.Fatal("SPDK renamed a read-only lvol")
	}
	if !n.lvolExists(t, "lvsRO/w") || n.lvolExists(t, "lvsRO/w2") {
		t.Fatal("the failed rename left the bdev alias moved")
	}
	var lvols []spdkrpc.Lvol
	if err := n.spdk.Call(ctx, "bdev_lvol_get_lvols", map[string]string{"lvs_name": "lvsRO"}, &lvols); err != nil {
		t.Fatal(err)
	}
	if len(lvols) != 1 || lvols[0].Name != "w" {
		t.Fatalf("get_lvols = %+v, want w", lvols)
	}
}

// SPDK fails an lvstore on a read-only lvol and keeps the lvol held:
// deleting it afterwards never answers. Set read-only straight on SPDK the
// guard cannot see it coming, so the failure itself marks the lvol
// uncertain, and the delete that would hang is refused.
func TestRealAndSim_lvstoreOnLvolSetReadOnlyOnSPDK(t *testing.T) {
	backends(t, lvstoreOnLvolSetReadOnlyOnSPDK)
}

func lvstoreOnLvolSetReadOnlyOnSPDK(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{allowSelf: true, real: real, noDemo: true})
	ctx := context.Background()
	for _, c := range []struct{ method, params string }{
		{"bdev_malloc_create", `{"name":"ro1","num_blocks":8192,"block_size":4096}`},
		{"bdev_lvol_create_lvstore", `{"bdev_name":"ro1","lvs_name":"lvsRO"}`},
		{"bdev_lvol_create", `{"lvs_name":"lvsRO","lvol_name":"w","size_in_mib":8}`},
		{"bdev_lvol_set_read_only", `{"name":"lvsRO/w"}`},
	} {
		if _, err := n.spdk.CallRaw(ctx, c.method, json.RawMessage(c.params)); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
	}
	_, err := n.via.CallRaw(ctx, "bdev_lvol_create_lvstore", params("bdev_name", "lvsRO/w", "lvs_name", "nested"))
	if err == nil {
		t.Skip("this SPDK made an lvstore on a read-only lvol")
	}
	_, err = n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", "lvsRO/w"))
	refusedWith(t, err, "uncertain")
	if _, err := n.spdk.CallRaw(ctx, "spdk_get_version", nil); err != nil {
		t.Fatalf("SPDK: %v", err)
	}
}

// Sharp edge 1: in an lvstore out of metadata pages a clone crashes
// spdk_tgt. The recorded repro (16 MiB, 1 MiB clusters, default ratio, a
// thin lvol and its snapshot) crashes at the 14th clone: through the agent
// the 13 that fit are made, the 14th is refused, and SPDK lives.
func TestRealAndSim_clonesUpToTheMetadataPages(t *testing.T) {
	backends(t, clonesUpToTheMetadataPages)
}

func clonesUpToTheMetadataPages(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{allowSelf: true, real: real, noDemo: true})
	ctx := context.Background()
	for _, c := range []struct{ method, params string }{
		{"bdev_malloc_create", `{"name":"md0","num_blocks":4096,"block_size":4096}`},
		{"bdev_lvol_create_lvstore", `{"bdev_name":"md0","lvs_name":"lvsMD","cluster_sz":1048576}`},
		{"bdev_lvol_create", `{"lvs_name":"lvsMD","lvol_name":"v","size_in_mib":1,"thin_provision":true}`},
		{"bdev_lvol_snapshot", `{"lvol_name":"lvsMD/v","snapshot_name":"s"}`},
	} {
		if _, err := n.via.CallRaw(ctx, c.method, json.RawMessage(c.params)); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
	}
	made := 0
	for i := 1; i <= 14; i++ {
		_, err := n.via.CallRaw(ctx, "bdev_lvol_clone", params("snapshot_name", "lvsMD/s", "clone_name", fmt.Sprintf("c%d", i)))
		if f, refused := refusalOf(err); refused {
			if f.Rule != "sharp-edge" {
				t.Fatalf("clone %d refused with %s: %s", i, f.Rule, f.Reason)
			}
			break
		}
		if err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		made++
	}
	if _, err := n.spdk.CallRaw(ctx, "spdk_get_version", nil); err != nil {
		t.Fatalf("SPDK after %d clones: %v", made, err)
	}
	if made != 13 {
		t.Errorf("%d clones made before the refusal, want 13", made)
	}
}
