package agent

import (
	"context"
	"encoding/json"
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
