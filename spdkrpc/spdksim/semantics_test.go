package spdksim

import (
	"errors"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

type obj = map[string]any

// newStore returns a target with malloc bdev base (mib MiB, 4 KiB blocks)
// and lvstore lvs on it.
func newStore(t *testing.T, opts Options, base, lvs string, mib int, extra obj) *Target {
	t.Helper()
	tg := NewTarget(opts)
	addStore(t, tg, base, lvs, mib, extra)
	return tg
}

func addStore(t *testing.T, tg *Target, base, lvs string, mib int, extra obj) {
	t.Helper()
	must[string](t, tg, "bdev_malloc_create", obj{"name": base, "num_blocks": mib * 256, "block_size": 4096})
	p := obj{"bdev_name": base, "lvs_name": lvs}
	for k, v := range extra {
		p[k] = v
	}
	must[string](t, tg, "bdev_lvol_create_lvstore", p)
}

func lvolInfo(t *testing.T, tg *Target, name string) *spdkrpc.LvolDriverInfo {
	t.Helper()
	bs := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": name})
	info, ok := bs[0].LvolInfo()
	if !ok {
		t.Fatalf("%s is not an lvol", name)
	}
	return info
}

func lvols(t *testing.T, tg *Target) map[string]spdkrpc.Lvol {
	out := map[string]spdkrpc.Lvol{}
	for _, l := range must[[]spdkrpc.Lvol](t, tg, "bdev_lvol_get_lvols", nil) {
		out[string(l.Alias)] = l
	}
	return out
}

func freeClusters(t *testing.T, tg *Target, lvs string) uint64 {
	return must[[]spdkrpc.Lvstore](t, tg, "bdev_lvol_get_lvstores", obj{"lvs_name": lvs})[0].FreeClusters
}

func create(t *testing.T, tg *Target, lvs, name string, mib int, thin bool) string {
	t.Helper()
	return must[string](t, tg, "bdev_lvol_create", obj{"lvs_name": lvs, "lvol_name": name, "size_in_mib": mib, "thin_provision": thin})
}

func snapshot(t *testing.T, tg *Target, alias, name string) string {
	t.Helper()
	return must[string](t, tg, "bdev_lvol_snapshot", obj{"lvol_name": alias, "snapshot_name": name})
}

func clone(t *testing.T, tg *Target, snap, name string) string {
	t.Helper()
	return must[string](t, tg, "bdev_lvol_clone", obj{"snapshot_name": snap, "clone_name": name})
}

func del(t *testing.T, tg *Target, name string) {
	t.Helper()
	if !must[bool](t, tg, "bdev_lvol_delete", obj{"name": name}) {
		t.Fatalf("delete %s: false", name)
	}
}

func TestDelete_mergeSemantics(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, tg *Target)
	}{
		{"two clones refuse", func(t *testing.T, tg *Target) {
			create(t, tg, "lvs0", "v", 16, true)
			snapshot(t, tg, "lvs0/v", "s")
			clone(t, tg, "lvs0/s", "c")
			wantErr(t, tg, "bdev_lvol_delete", obj{"name": "lvs0/s"}, -32603, "Operation not permitted")
		}},
		{"one clone merges and owns the clusters", func(t *testing.T, tg *Target) {
			create(t, tg, "lvs0", "v", 16, false)
			snapshot(t, tg, "lvs0/v", "s")
			free := freeClusters(t, tg, "lvs0")
			del(t, tg, "lvs0/s")
			info := lvolInfo(t, tg, "lvs0/v")
			if info.Clone || info.BaseSnapshot != "" || info.NumAllocatedClusters != 4 || !info.ThinProvision {
				t.Fatalf("after merge: %+v", info)
			}
			if got := freeClusters(t, tg, "lvs0"); got != free {
				t.Fatalf("free clusters %d, want %d (clusters moved, not freed)", got, free)
			}
		}},
		{"one clone takes the grandparent", func(t *testing.T, tg *Target) {
			create(t, tg, "lvs0", "v", 16, true)
			snapshot(t, tg, "lvs0/v", "s1")
			snapshot(t, tg, "lvs0/v", "s2")
			clone(t, tg, "lvs0/s1", "other")
			del(t, tg, "lvs0/s2")
			if info := lvolInfo(t, tg, "lvs0/v"); !info.Clone || info.BaseSnapshot != "s1" {
				t.Fatalf("v after merge: %+v", info)
			}
			got := lvolInfo(t, tg, "lvs0/s1").Clones
			// spdk_tgt v26.05 re-adds the merged clone at the end.
			if len(got) != 2 || got[0] != "other" || got[1] != "v" {
				t.Fatalf("s1 clones = %v, want [other v]", got)
			}
		}},
		{"one clone takes the external snapshot", func(t *testing.T, tg *Target) {
			must[string](t, tg, "bdev_malloc_create", obj{"name": "bi", "num_blocks": 4096, "block_size": 4096})
			must[string](t, tg, "bdev_lvol_clone_bdev", obj{"bdev": "bi", "lvs_name": "lvs0", "clone_name": "e"})
			snapshot(t, tg, "lvs0/e", "es")
			if info := lvolInfo(t, tg, "lvs0/es"); !info.EsnapClone || info.Clones[0] != "e" {
				t.Fatalf("snapshot of esnap clone: %+v", info)
			}
			del(t, tg, "lvs0/es")
			info := lvolInfo(t, tg, "lvs0/e")
			bi := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "bi"})[0]
			if !info.EsnapClone || info.Clone || info.ExternalSnapshotName != bi.UUID {
				t.Fatalf("e after merge: %+v", info)
			}
		}},
		{"clone delete detaches from snapshot", func(t *testing.T, tg *Target) {
			create(t, tg, "lvs0", "v", 16, true)
			snapshot(t, tg, "lvs0/v", "s")
			clone(t, tg, "lvs0/s", "c")
			del(t, tg, "lvs0/c")
			if got := lvolInfo(t, tg, "lvs0/s").Clones; len(got) != 1 || got[0] != "v" {
				t.Fatalf("clones = %v", got)
			}
			del(t, tg, "lvs0/v")
			if got := lvolInfo(t, tg, "lvs0/s").Clones; got != nil {
				t.Fatalf("clones = %v, want absent", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newStore(t, Options{}, "Malloc0", "lvs0", 256, nil))
		})
	}
}

// TestMDPages_exhaustion follows sharp edge 1: 16 md pages; the super blob,
// a thin lvol and its snapshot hold 3, so 13 clones fit.
func TestMDPages_exhaustion(t *testing.T) {
	for _, defects := range []bool{true, false} {
		tg := newStore(t, Options{NoDefects: !defects}, "m", "small", 16, obj{"cluster_sz": 1 << 20})
		create(t, tg, "small", "v", 4, true)
		snapshot(t, tg, "small/v", "s")
		for i := range 13 {
			clone(t, tg, "small/s", "c"+string(rune('a'+i)))
		}
		wantErr(t, tg, "bdev_lvol_create", obj{"lvs_name": "small", "lvol_name": "x", "size_in_mib": 1, "thin_provision": true}, -32602, "Cannot allocate memory")
		wantErr(t, tg, "bdev_lvol_snapshot", obj{"lvol_name": "small/v", "snapshot_name": "x"}, -32602, "Cannot allocate memory")
		_, err := call(t, tg, "bdev_lvol_clone", obj{"snapshot_name": "small/s", "clone_name": "x"})
		if defects && !errors.Is(err, spdkserver.ErrCrash) {
			t.Fatalf("14th clone: %v, want a crash", err)
		}
		if !defects {
			wantErr(t, tg, "bdev_lvol_clone", obj{"snapshot_name": "small/s", "clone_name": "x"}, -32602, "Cannot allocate memory")
		}
	}
}

func TestSharpEdge6_halfDoneRename(t *testing.T) {
	tg := newStore(t, Options{}, "Malloc0", "lvs0", 256, nil)
	create(t, tg, "lvs0", "v", 16, true)
	snapshot(t, tg, "lvs0/v", "s1")
	wantErr(t, tg, "bdev_lvol_rename", obj{"old_name": "lvs0/s1", "new_name": "s1renamed"}, -32602, "Operation not permitted")
	if _, ok := lvols(t, tg)["lvs0/s1"]; !ok {
		t.Fatal("get_lvols lost s1")
	}
	if got := lvolInfo(t, tg, "lvs0/s1renamed"); !got.Snapshot {
		t.Fatalf("alias lvs0/s1renamed: %+v", got)
	}
	if got := lvolInfo(t, tg, "lvs0/v").BaseSnapshot; got != "s1" {
		t.Fatalf("base_snapshot = %q, want s1", got)
	}
	wantErr(t, tg, "bdev_get_bdevs", obj{"name": "lvs0/s1"}, -19, "No such device")
	wantErr(t, tg, "bdev_lvol_create", obj{"lvs_name": "lvs0", "lvol_name": "s1renamed", "size_in_mib": 4}, -32602, "File exists")
	wantErr(t, tg, "bdev_lvol_create", obj{"lvs_name": "lvs0", "lvol_name": "s1", "size_in_mib": 4}, -17, "File exists")
	wantErr(t, tg, "bdev_lvol_set_parent", obj{"lvol_name": "lvs0/v", "parent_name": "lvs0/s1renamed"}, -32602, "File exists")
}

func TestSharpEdge4_longRenames(t *testing.T) {
	tg := newStore(t, Options{}, "Malloc0", "lvs0", 256, nil)
	create(t, tg, "lvs0", "v", 4, true)
	long := strings.Repeat("n", 100)
	must[bool](t, tg, "bdev_lvol_rename", obj{"old_name": "lvs0/v", "new_name": long})
	if _, ok := lvols(t, tg)["lvs0/"+long[:63]]; !ok {
		t.Fatalf("get_lvols does not show the 63-byte name: %v", lvols(t, tg))
	}
	lvolInfo(t, tg, "lvs0/"+long) // the alias keeps all 100
	wantErr(t, tg, "bdev_get_bdevs", obj{"name": "lvs0/" + long[:63]}, -19, "No such device")
	must[bool](t, tg, "bdev_lvol_rename_lvstore", obj{"old_name": "lvs0", "new_name": long})
	if got := must[[]spdkrpc.Lvstore](t, tg, "bdev_lvol_get_lvstores", nil)[0].Name; string(got) != long[:63] {
		t.Fatalf("lvstore name %q, want cut to 63 bytes", got)
	}
	wantErr(t, tg, "bdev_lvol_create", obj{"lvs_name": long[:63], "lvol_name": long[:64], "size_in_mib": 4}, -22, "Invalid argument")
	wantErr(t, tg, "bdev_lvol_snapshot", obj{"lvol_name": long[:63] + "/" + long[:63], "snapshot_name": long[:64]}, -32602, "Invalid argument")
}

// A snapshot whose alias is taken (by a half-done rename) fails after
// SPDK made the blob snapshot; rolled back, it leaves the origin thin.
func TestSnapshot_takenAliasLeavesOriginThin(t *testing.T) {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 65536, "block_size": 512})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "l"})
	create(t, tg, "l", "v0", 4, false)
	snapshot(t, tg, "l/v0", "s1")
	wantErr(t, tg, "bdev_lvol_rename", obj{"old_name": "l/s1", "new_name": "taken"}, -32602, "Operation not permitted")
	create(t, tg, "l", "v2", 4, false)
	wantErr(t, tg, "bdev_lvol_snapshot", obj{"lvol_name": "l/v2", "snapshot_name": "taken"}, -32602, "File exists")
	lvols := must[[]spdkrpc.Lvol](t, tg, "bdev_lvol_get_lvols", obj{"lvs_name": "l"})
	if len(lvols) != 3 {
		t.Fatalf("%d lvols, want 3 (no snapshot left behind)", len(lvols))
	}
	if v2 := lvols[2]; v2.Name != "v2" || !v2.IsThinProvisioned || v2.IsClone || v2.NumAllocatedClusters != 1 {
		t.Errorf("v2 after the failed snapshot: %+v, want thin, no clone, 1 cluster", v2)
	}
}

// A shallow copy into a thin lvol allocates there what it writes.
func TestShallowCopy_allocatesInThinDestination(t *testing.T) {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 65536, "block_size": 512})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "l"})
	create(t, tg, "l", "src", 4, false)
	must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "l/src"})
	create(t, tg, "l", "dst", 8, true)
	must[any](t, tg, "bdev_lvol_start_shallow_copy", obj{"src_lvol_name": "l/src", "dst_bdev_name": "l/dst"})
	for _, l := range must[[]spdkrpc.Lvol](t, tg, "bdev_lvol_get_lvols", obj{"lvs_name": "l"}) {
		if l.Name == "dst" && l.NumAllocatedClusters != 1 {
			t.Errorf("dst holds %d clusters after the copy, want 1", l.NumAllocatedClusters)
		}
	}
}

// A clone shrunk below its snapshot takes the snapshot's extent page when
// the snapshot is deleted; deleting the clone then fails half-way, the
// lvol gone and its cluster leaked, unless a resize rewrote the page
// first; a snapshot carries the page along (spdk_tgt v26.05, by hand).
func TestDelete_strayExtentPage(t *testing.T) {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 262144, "block_size": 512})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "l"})
	free := func() uint64 { return must[[]spdkrpc.Lvstore](t, tg, "bdev_lvol_get_lvstores", nil)[0].FreeClusters }
	shrunk := func(name string) {
		create(t, tg, "l", name, 8, false)
		snapshot(t, tg, "l/"+name, name+"s")
		must[bool](t, tg, "bdev_lvol_resize", obj{"name": "l/" + name, "size_in_mib": 4})
		must[bool](t, tg, "bdev_lvol_delete", obj{"name": "l/" + name + "s"})
	}
	all := free()
	shrunk("a")
	wantErr(t, tg, "bdev_lvol_delete", obj{"name": "l/a"}, -32603, "Invalid argument")
	wantErr(t, tg, "bdev_get_bdevs", obj{"name": "l/a"}, -19, "No such device")
	if got := free(); got != all-1 {
		t.Errorf("%d free clusters after the failed delete, want %d (one leaked)", got, all-1)
	}
	shrunk("b")
	snapshot(t, tg, "l/b", "bs2")
	must[bool](t, tg, "bdev_lvol_delete", obj{"name": "l/b"})
	wantErr(t, tg, "bdev_lvol_delete", obj{"name": "l/bs2"}, -32603, "Invalid argument")
	shrunk("c")
	must[bool](t, tg, "bdev_lvol_resize", obj{"name": "l/c", "size_in_mib": 0})
	must[bool](t, tg, "bdev_lvol_delete", obj{"name": "l/c"})
	if got := free(); got != all-2 {
		t.Errorf("%d free clusters at the end, want %d", got, all-2)
	}
}

// An lvstore whose base lvol was made read-only fails every metadata
// write with EIO, some after changing the lvol in memory, and its clones
// and deletes kill spdk_tgt v26.05 (checked by hand).
func TestReadOnlyBase_metadataWritesFail(t *testing.T) {
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "m", "num_blocks": 131072, "block_size": 512})
	must[string](t, tg, "bdev_malloc_create", obj{"name": "e", "num_blocks": 8192, "block_size": 512})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "m", "lvs_name": "l", "cluster_sz": 1 << 20})
	create(t, tg, "l", "lo", 32, false)
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "l/lo", "lvs_name": "n", "cluster_sz": 1 << 20})
	create(t, tg, "n", "a", 4, true)
	create(t, tg, "n", "b", 4, true)
	create(t, tg, "n", "c", 4, false)
	snapshot(t, tg, "n/c", "cs")
	create(t, tg, "n", "d", 4, true)
	must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "l/lo"})
	eio := func(method string, params obj) {
		t.Helper()
		wantErr(t, tg, method, params, -32602, "Input/output error")
	}
	eio("bdev_lvol_set_parent_bdev", obj{"lvol_name": "n/a", "parent_name": "e"})
	eio("bdev_lvol_set_parent", obj{"lvol_name": "n/b", "parent_name": "n/cs"})
	eio("bdev_lvol_rename", obj{"old_name": "n/d", "new_name": "dd"})
	eio("bdev_lvol_resize", obj{"name": "n/c", "size_in_mib": 8})
	eio("bdev_lvol_inflate", obj{"name": "n/c"})
	eio("bdev_lvol_decouple_parent", obj{"name": "n/c"})
	eio("bdev_lvol_rename_lvstore", obj{"old_name": "n", "new_name": "n2"})
	if free := must[[]spdkrpc.Lvstore](t, tg, "bdev_lvol_get_lvstores", obj{"lvs_name": "n"})[0].FreeClusters; free != 25 {
		t.Errorf("n has %d free clusters, want 25 (the failed inflate and decouple leak one each)", free)
	}
	want := map[string][2]bool{"a": {false, true}, "b": {true, false}, "c": {true, false}, "d": {false, false}}
	for _, l := range must[[]spdkrpc.Lvol](t, tg, "bdev_lvol_get_lvols", obj{"lvs_name": "n"}) {
		if w, ok := want[string(l.Name)]; ok && (l.IsClone != w[0] || l.IsEsnapClone != w[1]) {
			t.Errorf("%s: clone %v, esnap clone %v; want %v", l.Name, l.IsClone, l.IsEsnapClone, w)
		}
	}
	if _, err := call(t, tg, "bdev_lvol_clone", obj{"snapshot_name": "n/cs", "clone_name": "x"}); err != errCrash {
		t.Errorf("clone on the read-only base: %v, want a crash", err)
	}
}

// bdev_get_iostat takes a list of names (v26.05 dropped "name"): every
// one must exist, an empty list selects nothing, and per_channel wants
// exactly one.
func TestIostat_names(t *testing.T) {
	tg := newStore(t, Options{}, "m0", "lvs", 16, nil)
	create(t, tg, "lvs", "v", 4, false)
	wantErr(t, tg, "bdev_get_iostat", obj{"name": "m0"}, -32603, "spdk_json_decode_object failed")
	wantErr(t, tg, "bdev_get_iostat", obj{"names": "m0"}, -32603, "spdk_json_decode_object failed")
	wantErr(t, tg, "bdev_get_iostat", obj{"names": []string{"m0"}, "reset_mode": "bogus"}, -32603, "spdk_json_decode_object failed")
	wantErr(t, tg, "bdev_get_iostat", obj{"names": []string{"m0", "nope"}}, -19, "No such device")
	wantErr(t, tg, "bdev_get_iostat", obj{"per_channel": true}, -22, "Invalid argument")
	for _, c := range []struct {
		names []string
		want  string
	}{{nil, ""}, {[]string{}, ""}, {[]string{"m0", "lvs/v", "m0"}, "m0,V,m0"}} {
		p := obj{}
		if c.names != nil {
			p["names"] = c.names
		}
		st := must[spdkrpc.Iostat](t, tg, "bdev_get_iostat", p)
		var got []string
		for _, b := range st.Bdevs {
			if string(b.Name) != "m0" {
				b.Name = "V"
			}
			got = append(got, string(b.Name))
		}
		want := c.want
		if c.names == nil {
			want = "m0,V"
		}
		if strings.Join(got, ",") != want {
			t.Errorf("names %q: got %v, want %s", c.names, got, want)
		}
	}
	ch := must[map[string]any](t, tg, "bdev_get_iostat", obj{"names": []string{"m0"}, "per_channel": true})
	if ch["name"] != "m0" || ch["channels"] == nil {
		t.Errorf("per_channel: %v", ch)
	}
}
