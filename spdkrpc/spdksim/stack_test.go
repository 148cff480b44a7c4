package spdksim

import (
	"encoding/json"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// The stacking modules as spdk_tgt v26.05 answers them (checked with the
// differential tester and by hand).
func TestStack_modules(t *testing.T) {
	tg := NewTarget(Options{})
	for _, n := range []string{"m0", "m1", "m2"} {
		must[string](t, tg, "bdev_malloc_create", obj{"name": n, "num_blocks": 8192, "block_size": 512})
	}
	if got := must[[]string](t, tg, "bdev_split_create", obj{"base_bdev": "m0", "split_count": 2}); len(got) != 2 || got[0] != "m0p0" {
		t.Fatalf("split: %v", got)
	}
	wantErr(t, tg, "bdev_split_create", obj{"base_bdev": "m0", "split_count": 2}, -32602, "Failed to create 2 split bdevs from 'm0': File exists")
	wantErr(t, tg, "bdev_split_delete", obj{"base_bdev": "nope"}, -32602, "No such file or directory")
	must[string](t, tg, "bdev_passthru_create", obj{"base_bdev_name": "m0p0", "name": "pt"})
	wantErr(t, tg, "bdev_passthru_create", obj{"base_bdev_name": "m0p1", "name": "pt"}, -17, "File exists")
	must[bool](t, tg, "bdev_raid_create", obj{"name": "r", "raid_level": "raid1", "base_bdevs": []string{"m1", "m2"}})
	wantErr(t, tg, "bdev_raid_create", obj{"name": "r", "raid_level": "raid0", "base_bdevs": []string{"m1"}}, -17, "Failed to create RAID bdev r: File exists")
	wantErr(t, tg, "bdev_raid_create", obj{"name": "x", "raid_level": "bogus", "base_bdevs": []string{"m1"}}, -32700, "spdk_json_decode_object failed")
	for name, claim := range map[string]string{"m0": "exclusive_write", "m0p0": "exclusive_write", "m1": "exclusive_write", "pt": ""} {
		if b := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": name})[0]; b.Claimed != (claim != "") {
			t.Errorf("%s claimed %v, want %q", name, b.Claimed, claim)
		}
	}
	// A raid1 survives losing one base, and goes with the last.
	must[bool](t, tg, "bdev_raid_remove_base_bdev", obj{"name": "m1"})
	must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "r"})
	must[bool](t, tg, "bdev_raid_remove_base_bdev", obj{"name": "m2"})
	wantErr(t, tg, "bdev_get_bdevs", obj{"name": "r"}, -19, "No such device")
	wantErr(t, tg, "bdev_raid_delete", obj{"name": "r"}, -19, "raid bdev r not found")
}

// An lvstore on a passthru goes when the passthru does, and examine finds
// it again on a split part that starts where the passthru did.
func TestStack_hotRemovedLvstoreComesBack(t *testing.T) {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 8192, "block_size": 4096})
	must[string](t, tg, "bdev_passthru_create", obj{"base_bdev_name": "m", "name": "pt"})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "pt", "lvs_name": "l", "cluster_sz": 1 << 20})
	create(t, tg, "l", "v", 4, true)
	must[bool](t, tg, "bdev_passthru_delete", obj{"name": "pt"})
	wantErr(t, tg, "bdev_get_bdevs", obj{"name": "l/v"}, -19, "No such device")
	must[[]string](t, tg, "bdev_split_create", obj{"base_bdev": "m", "split_count": 1})
	must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "l/v"})
}

// Calls that never answer on spdk_tgt v26.05 and that the differential
// tester keeps out of its stream: the simulator does not answer either.
func TestStack_hangs(t *testing.T) {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 8192, "block_size": 4096})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "l", "cluster_sz": 1 << 20})
	create(t, tg, "l", "ro", 4, false)
	must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "l/ro"})
	// A failed lvstore on a read-only lvol leaves it held.
	wantErr(t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "l/ro", "lvs_name": "n", "cluster_sz": 1 << 20}, -32602, "Input/output error")
	if _, err := call(t, tg, "bdev_lvol_delete", obj{"name": "l/ro"}); err != errNoReply {
		t.Fatalf("delete of the held lvol: %v, want no reply", err)
	}
	// A split that made no part holds its base open.
	tg = NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 256, "block_size": 4096})
	if got := must[[]string](t, tg, "bdev_split_create", obj{"base_bdev": "m", "split_count": 1, "split_size_mb": 8}); len(got) != 0 {
		t.Fatalf("split: %v", got)
	}
	if _, err := call(t, tg, "bdev_malloc_delete", obj{"name": "m"}); err != errNoReply {
		t.Fatalf("delete under an empty split: %v, want no reply", err)
	}
}

// Renaming an lvstore to "" is refused while some store was never
// renamed, and a rename, even to the same name, resets every alias.
func TestLvstoreRename_pendingNames(t *testing.T) {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 8192, "block_size": 4096})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "a", "cluster_sz": 1 << 20})
	wantErr(t, tg, "bdev_lvol_rename_lvstore", obj{"old_name": "a", "new_name": ""}, -32602, "File exists")
	must[bool](t, tg, "bdev_lvol_rename_lvstore", obj{"old_name": "a", "new_name": "b"})
	must[bool](t, tg, "bdev_lvol_rename_lvstore", obj{"old_name": "b", "new_name": ""})
	create(t, tg, "", "v", 4, true)
	snapshot(t, tg, "/v", "s")
	// The half-applied rename of a snapshot moves its alias ...
	wantErr(t, tg, "bdev_lvol_rename", obj{"old_name": "/s", "new_name": "t"}, -32602, "Operation not permitted")
	must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "/t"})
	// ... until the store is renamed, to the name it has.
	must[bool](t, tg, "bdev_lvol_rename_lvstore", obj{"old_name": "", "new_name": ""})
	must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "/s"})
}

// An external snapshot is claimed read_many_write_none, which SPDK cannot
// take on a bdev claimed otherwise or held open for writing: a clone of it
// is created degraded (no bdev), a re-parent onto it is refused, and a
// shallow copy cannot take it as destination (spdk_tgt v26.05, by hand).
func TestClaims_externalSnapshotNeedsReadClaim(t *testing.T) {
	tg := NewTarget(Options{NoDefects: true})
	for _, n := range []string{"m0", "m1"} {
		must[string](t, tg, "bdev_malloc_create", obj{"name": n, "num_blocks": 65536, "block_size": 512})
	}
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m0", "lvs_name": "l0"})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m1", "lvs_name": "l1"})
	create(t, tg, "l0", "held", 4, false)
	must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "l0/held"})
	wantErr(t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "l0/held", "lvs_name": "n"}, -32602, "Input/output error")
	create(t, tg, "l1", "t", 4, true)
	create(t, tg, "l1", "src", 4, true)
	must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "l1/src"})
	for _, esnap := range []string{"m0", "l0/held"} {
		must[string](t, tg, "bdev_lvol_clone_bdev", obj{"bdev": esnap, "lvs_name": "l1", "clone_name": "c-" + esnap[:2]})
		wantErr(t, tg, "bdev_get_bdevs", obj{"name": "l1/c-" + esnap[:2]}, -19, "No such device")
		wantErr(t, tg, "bdev_lvol_set_parent_bdev", obj{"lvol_name": "l1/t", "parent_name": esnap}, -32602, "Invalid argument")
		wantErr(t, tg, "bdev_lvol_start_shallow_copy", obj{"src_lvol_name": "l1/src", "dst_bdev_name": esnap}, -32602, "Operation not permitted")
	}
	for _, l := range must[[]spdkrpc.Lvol](t, tg, "bdev_lvol_get_lvols", obj{"lvs_name": "l1"}) {
		if want := l.Name[0] == 'c'; l.IsDegraded != want || l.IsEsnapClone != want {
			t.Errorf("%s: degraded %v, esnap clone %v; want both %v", l.Name, l.IsDegraded, l.IsEsnapClone, want)
		}
	}
	// Neither device gained a claim from the failed clones.
	if b := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "l0/held"})[0]; b.Claimed {
		t.Error("l0/held is claimed")
	}
}

// A split that made no part keeps its base open, and SPDK refuses to
// shrink an open bdev.
func TestResize_emptySplitHoldsBaseOpen(t *testing.T) {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 65536, "block_size": 512})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "l", "cluster_sz": 1 << 20})
	create(t, tg, "l", "v", 5, true)
	create(t, tg, "l", "w", 5, true)
	if got := must[[]string](t, tg, "bdev_split_create", obj{"base_bdev": "l/v", "split_count": 2, "split_size_mb": 8}); len(got) != 0 {
		t.Fatalf("split: %v", got)
	}
	wantErr(t, tg, "bdev_lvol_resize", obj{"name": "l/v", "size_in_mib": 0}, -32602, "Device or resource busy")
	must[bool](t, tg, "bdev_lvol_resize", obj{"name": "l/v", "size_in_mib": 8})
	must[bool](t, tg, "bdev_lvol_resize", obj{"name": "l/w", "size_in_mib": 0})
}

// A raid1 write succeeds when one member takes it; a read-only lvol
// member fails it and is failed out of the raid (spdk_tgt v26.05).
func TestRaid1_readOnlyMemberFailedOutOnWrite(t *testing.T) {
	tg := storeAndSpare(t, 16384)
	ro := create(t, tg, "l", "ro", 8, false)
	must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "l/ro"})
	must[bool](t, tg, "bdev_raid_create", obj{"name": "r", "raid_level": "raid1", "base_bdevs": []string{"m1", "l/ro"}})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "r", "lvs_name": "top", "cluster_sz": 1 << 20})
	if b := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": ro})[0]; b.Claimed {
		t.Error("the read-only member is still claimed by the raid")
	}
	// With only read-only members the write fails, and the raid goes.
	ro2 := create(t, tg, "l", "ro2", 8, false)
	must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "l/ro2"})
	must[bool](t, tg, "bdev_raid_create", obj{"name": "r2", "raid_level": "raid1", "base_bdevs": []string{ro, ro2}})
	wantErr(t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "r2", "lvs_name": "top2", "cluster_sz": 1 << 20}, -32602, "Input/output error")
	wantErr(t, tg, "bdev_get_bdevs", obj{"name": "r2"}, -19, "No such device")
}

// A split that makes no part does not claim its base, so a claimed base
// takes it (spdk_tgt v26.05: the claim comes with the first part).
func TestSplit_noPartOnClaimedBase(t *testing.T) {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 2048, "block_size": 4096})
	must[[]string](t, tg, "bdev_split_create", obj{"base_bdev": "m", "split_count": 2})
	if got := must[[]string](t, tg, "bdev_split_create", obj{"base_bdev": "mp0", "split_count": 1, "split_size_mb": 8}); len(got) != 0 {
		t.Fatalf("split of a claimed base too small for a part: %v", got)
	}
	must[[]string](t, tg, "bdev_split_create", obj{"base_bdev": "mp1", "split_count": 1})
	wantErr(t, tg, "bdev_split_create", obj{"base_bdev": "m", "split_count": 1}, -32602, "Failed to create 1 split bdevs from 'm': File exists")
}

// raid bases are configured in order, each checked whole: an empty base
// fails (EINVAL) before a later claimed one would (EPERM).
func TestRaid_basesCheckedInOrder(t *testing.T) {
	tg := storeAndSpare(t, 8192)
	empty := create(t, tg, "l", "empty", 0, true)
	wantErr(t, tg, "bdev_raid_create", obj{"name": "r", "raid_level": "concat", "strip_size_kb": 64, "base_bdevs": []string{empty, "m", "m1"}}, -22, "Failed to create RAID bdev r: Invalid argument")
	wantErr(t, tg, "bdev_raid_create", obj{"name": "r", "raid_level": "concat", "strip_size_kb": 64, "base_bdevs": []string{"m1", "m", empty}}, -1, "Failed to create RAID bdev r: Operation not permitted")
}

// storeAndSpare is a target with lvstore "l" (1 MiB clusters) on a 32 MiB
// malloc "m", and a spare malloc "m1" of spareBlocks 512-byte blocks.
func storeAndSpare(t *testing.T, spareBlocks int) *Target {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 65536, "block_size": 512})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m1", "num_blocks": spareBlocks, "block_size": 512})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "l", "cluster_sz": 1 << 20})
	return tg
}

// A raid0 that loses a base goes offline: its bdev goes, its other bases
// stay claimed until bdev_raid_delete, and its name stays taken.
func TestRaid_offlineKeepsItsBases(t *testing.T) {
	tg := storeAndSpare(t, 8192)
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m2", "num_blocks": 8192, "block_size": 512})
	must[bool](t, tg, "bdev_raid_create", obj{"name": "r", "raid_level": "raid0", "strip_size_kb": 64, "base_bdevs": []string{"m1", "m2"}})
	must[bool](t, tg, "bdev_malloc_delete", obj{"name": "m2"})
	wantErr(t, tg, "bdev_get_bdevs", obj{"name": "r"}, -19, "No such device")
	if b := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "m1"})[0]; !b.Claimed {
		t.Error("m1 was released by the offline raid")
	}
	wantErr(t, tg, "bdev_raid_create", obj{"name": "r", "raid_level": "raid0", "strip_size_kb": 64, "base_bdevs": []string{"m"}}, -17, "Failed to create RAID bdev r: File exists")
	must[bool](t, tg, "bdev_raid_delete", obj{"name": "r"})
	if b := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "m1"})[0]; b.Claimed {
		t.Error("m1 still claimed after bdev_raid_delete")
	}
}

// A raid lists write_zeroes whatever its bases do: SPDK emulates it with
// writes, which a raid always takes; unmap it takes only if all bases do.
func TestRaid_writeZeroesListedOverSnapshot(t *testing.T) {
	tg := storeAndSpare(t, 8192)
	create(t, tg, "l", "v", 4, false)
	snap := snapshot(t, tg, "l/v", "s")
	must[bool](t, tg, "bdev_raid_create", obj{"name": "r", "raid_level": "raid0", "strip_size_kb": 64, "base_bdevs": []string{"m1", snap}})
	var io map[string]bool
	if err := json.Unmarshal(must[[]json.RawMessage](t, tg, "bdev_get_bdevs", obj{"name": "r"})[0], &struct {
		IO *map[string]bool `json:"supported_io_types"`
	}{&io}); err != nil {
		t.Fatal(err)
	}
	if !io["write_zeroes"] || io["unmap"] {
		t.Errorf("raid over a snapshot lists write_zeroes %v, unmap %v; want true, false", io["write_zeroes"], io["unmap"])
	}
}

// A raid0 writes an lvstore's metadata into its first strip: a read-only
// lvol as a later base does not fail it.
func TestRaid0_metadataInFirstStrip(t *testing.T) {
	tg := storeAndSpare(t, 8192)
	create(t, tg, "l", "v", 4, false)
	snap := snapshot(t, tg, "l/v", "s")
	must[bool](t, tg, "bdev_raid_create", obj{"name": "r", "raid_level": "raid0", "strip_size_kb": 64, "base_bdevs": []string{"m1", snap}})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "r", "lvs_name": "top", "cluster_sz": 1 << 20})
	create(t, tg, "l", "w", 4, false)
	snap2 := snapshot(t, tg, "l/w", "s2")
	must[bool](t, tg, "bdev_raid_create", obj{"name": "r3", "raid_level": "concat", "strip_size_kb": 64, "base_bdevs": []string{snap2}})
	wantErr(t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "r3", "lvs_name": "top3", "cluster_sz": 1 << 20}, -32602, "Input/output error")
}

// Splitting a read-only lvol into parts kills spdk_tgt v26.05 (checked
// by hand on a snapshot and on an lvol set read-only).
func TestSplit_readOnlyLvolCrashes(t *testing.T) {
	tg := storeAndSpare(t, 8192)
	create(t, tg, "l", "v", 8, false)
	snapshot(t, tg, "l/v", "s")
	if _, err := call(t, tg, "bdev_split_create", obj{"base_bdev": "l/s", "split_count": 2}); err != errCrash {
		t.Fatalf("split of a snapshot: %v, want a crash", err)
	}
	tg = NewTarget(Options{NoDefects: true})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 65536, "block_size": 512})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "l", "cluster_sz": 1 << 20})
	create(t, tg, "l", "v", 8, false)
	must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "l/v"})
	must[[]string](t, tg, "bdev_split_create", obj{"base_bdev": "l/v", "split_count": 2})
}
