package spdksim

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func newDisk(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRestart_aioPersistsMallocDoesNot(t *testing.T) {
	disk := newDisk(t, 256<<20)
	const imgUUID = "6f1c1a52-5d0e-4a53-9a43-0d0f4b1a2c3d"
	tg := newStore(t, Options{}, "Malloc0", "mlvs", 64, nil)
	must[string](t, tg, "bdev_aio_create", obj{"name": "aio0", "filename": disk, "block_size": 4096})
	lvsUUID := must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "aio0", "lvs_name": "alvs"})
	create(t, tg, "alvs", "vol", 16, false)
	snapshot(t, tg, "alvs/vol", "snap")
	clone(t, tg, "alvs/snap", "c")
	must[string](t, tg, "bdev_malloc_create", obj{"name": "img", "num_blocks": 1024, "block_size": 4096, "uuid": imgUUID})
	must[string](t, tg, "bdev_lvol_clone_bdev", obj{"bdev": "img", "lvs_name": "alvs", "clone_name": "e"})
	create(t, tg, "mlvs", "gone", 4, true)
	before := lvols(t, tg)
	delete(before, "mlvs/gone")
	snapInfo := lvolInfo(t, tg, "alvs/snap")

	tg.Restart()
	if got := must[[]spdkrpc.Lvstore](t, tg, "bdev_lvol_get_lvstores", nil); len(got) != 0 {
		t.Fatalf("after restart, before examine: %+v", got)
	}
	must[string](t, tg, "bdev_aio_create", obj{"name": "aio0", "filename": disk, "block_size": 4096})
	must[bool](t, tg, "bdev_wait_for_examine", nil)
	stores := must[[]spdkrpc.Lvstore](t, tg, "bdev_lvol_get_lvstores", nil)
	if len(stores) != 1 || string(stores[0].UUID) != lvsUUID || stores[0].Name != "alvs" || !claimed(t, tg, "aio0") {
		t.Fatalf("after examine: %+v", stores)
	}
	after := lvols(t, tg)
	if !after["alvs/e"].IsDegraded {
		t.Fatal("esnap clone must be degraded while its base is missing")
	}
	wantErr(t, tg, "bdev_get_bdevs", obj{"name": "alvs/e"}, -19, "No such device")
	must[string](t, tg, "bdev_malloc_create", obj{"name": "img", "num_blocks": 1024, "block_size": 4096, "uuid": imgUUID})
	after = lvols(t, tg)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("lvols changed over restart:\nbefore %+v\nafter  %+v", before, after)
	}
	if got := lvolInfo(t, tg, "alvs/snap"); !reflect.DeepEqual(got, snapInfo) {
		t.Fatalf("snapshot after restart %+v, want %+v", got, snapInfo)
	}
	if got := lvolInfo(t, tg, "alvs/e").ExternalSnapshotName; got != imgUUID {
		t.Fatalf("esnap base %q", got)
	}

	// Deleting the lvstore erases it from the disk.
	must[bool](t, tg, "bdev_lvol_delete_lvstore", obj{"lvs_name": "alvs"})
	tg.Restart()
	must[string](t, tg, "bdev_aio_create", obj{"name": "aio0", "filename": disk, "block_size": 4096})
	if got := must[[]spdkrpc.Lvstore](t, tg, "bdev_lvol_get_lvstores", nil); len(got) != 0 {
		t.Fatalf("deleted lvstore came back: %+v", got)
	}
}

func TestAio_errors(t *testing.T) {
	tg := NewTarget(Options{})
	wantErr(t, tg, "bdev_aio_create", obj{"name": "a", "filename": filepath.Join(t.TempDir(), "none")}, -2, "No such file or directory")
	disk := newDisk(t, 64<<20)
	// A regular file has no block size SPDK can detect.
	wantErr(t, tg, "bdev_aio_create", obj{"name": "a", "filename": disk}, -22, "Invalid argument")
	wantErr(t, tg, "bdev_aio_create", obj{"name": "a", "filename": disk, "block_size": 1000}, -22, "Invalid argument")
	must[string](t, tg, "bdev_aio_create", obj{"name": "a", "filename": disk, "block_size": 512})
	wantErr(t, tg, "bdev_aio_create", obj{"name": "a", "filename": disk, "block_size": 512}, -17, "File exists")
	if b := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "a"})[0]; b.BlockSize != 512 || b.NumBlocks != 131072 {
		t.Fatalf("aio bdev %+v", b)
	}
	wantErr(t, tg, "bdev_aio_delete", obj{"name": "nope"}, -19, "No such device")
	must[bool](t, tg, "bdev_aio_delete", obj{"name": "a"})
}

func claimed(t *testing.T, tg *Target, name string) bool {
	return must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": name})[0].Claimed
}

// An lvstore keeps the block size of the device it was made on, as SPDK's
// super block does: reopened through an aio bdev of another block size,
// the store and its lvols report the old one.
func TestExamine_storeKeepsItsBlockSize(t *testing.T) {
	for _, c := range []struct{ made, reopened uint64 }{{4096, 512}, {512, 4096}} {
		disk := newDisk(t, 64<<20)
		tg := NewTarget(Options{})
		must[string](t, tg, "bdev_aio_create", obj{"name": "a", "filename": disk, "block_size": c.made})
		must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "a", "lvs_name": "lvs"})
		create(t, tg, "lvs", "v", 4, false)
		must[bool](t, tg, "bdev_aio_delete", obj{"name": "a"})
		must[string](t, tg, "bdev_aio_create", obj{"name": "a", "filename": disk, "block_size": c.reopened})
		stores := must[[]spdkrpc.Lvstore](t, tg, "bdev_lvol_get_lvstores", nil)
		if len(stores) != 1 || stores[0].BlockSize != c.made {
			t.Fatalf("made at %d, reopened at %d: %+v", c.made, c.reopened, stores)
		}
		v := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "lvs/v"})
		if v[0].BlockSize != c.made || v[0].NumBlocks*c.made != 4<<20 {
			t.Fatalf("made at %d, reopened at %d: lvol has %d blocks of %d", c.made, c.reopened, v[0].NumBlocks, v[0].BlockSize)
		}
	}
}

// Lvol changes made concurrently share their metadata writes, and every
// change acknowledged is on the disk: after a restart the aio lvstore
// holds each lvol whose create answered.
func TestRestart_concurrentChangesAreAllOnDisk(t *testing.T) {
	disk := newDisk(t, 1<<30)
	tg := NewTarget(Options{})
	must[string](t, tg, "bdev_aio_create", obj{"name": "aio0", "filename": disk, "block_size": 4096})
	must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "aio0", "lvs_name": "alvs", "cluster_sz": 1 << 20})
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := call(t, tg, "bdev_lvol_create", obj{"lvs_name": "alvs", "lvol_name": fmt.Sprintf("v%02d", i), "size_in_mib": 4, "thin_provision": true}); err != nil {
				t.Errorf("create v%02d: %v", i, err)
			}
		})
	}
	wg.Wait()
	// A rename answered is on the disk too.
	must[bool](t, tg, "bdev_lvol_rename", obj{"old_name": "alvs/v00", "new_name": "renamed"})
	before := lvols(t, tg)
	tg.Restart()
	must[string](t, tg, "bdev_aio_create", obj{"name": "aio0", "filename": disk, "block_size": 4096})
	must[bool](t, tg, "bdev_wait_for_examine", nil)
	after := lvols(t, tg)
	if len(after) != n || !reflect.DeepEqual(before, after) {
		t.Fatalf("after restart %d lvols, want the %d answered:\nbefore %v\nafter  %v", len(after), n, before, after)
	}
	if _, ok := after["alvs/renamed"]; !ok {
		t.Fatal("the rename did not reach the disk")
	}
}
