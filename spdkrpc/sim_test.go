package spdkrpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// Tests against the SPDK simulator, which answers like spdk_tgt v26.05.

func startSim(t testing.TB, opts spdksim.Options) (*spdksim.Sim, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "spdkrpc")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "spdk.sock")
	sim := spdksim.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx, path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sim.Close()
		cancel()
		os.RemoveAll(dir)
	})
	return sim, path
}

// fastSim is a simulator without the 4 ms poller, for functional tests.
var fastSim = spdksim.Options{PollInterval: -1}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func TestSim_lvolLifecycle(t *testing.T) {
	_, path := startSim(t, fastSim)
	c := dialMini(t, path, spdkrpc.Options{})
	ctx := context.Background()
	if !strings.HasPrefix(c.Version(), "SPDK v26.05") || !c.HasMethod("bdev_lvol_set_parent_bdev") {
		t.Fatalf("version %q, methods learned: %v", c.Version(), c.HasMethod("bdev_lvol_set_parent_bdev"))
	}
	if err := c.FrameworkWaitInit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForExamine(ctx); err != nil {
		t.Fatal(err)
	}

	base := must[spdkrpc.BdevName](t, "malloc")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "Malloc0", NumBlocks: 65536, BlockSize: 4096}))
	lvsUUID := must[spdkrpc.LvstoreUUID](t, "lvstore")(c.CreateLvstore(ctx, spdkrpc.CreateLvstoreParams{BdevName: base, LvsName: "lvs0"}))
	stores := must[[]spdkrpc.Lvstore](t, "get lvstores")(c.GetLvstores(ctx, spdkrpc.LvsByUUID(lvsUUID)))
	if len(stores) != 1 || stores[0].Name != "lvs0" || stores[0].TotalDataClusters != 63 {
		t.Fatalf("lvstores: %+v", stores)
	}
	lvs := spdkrpc.LvsByName("lvs0")
	vol := must[spdkrpc.LvolUUID](t, "create")(c.CreateLvol(ctx, spdkrpc.CreateLvolParams{Lvs: lvs, Name: "vol1", SizeMiB: 16}))
	snap := must[spdkrpc.LvolUUID](t, "snapshot")(c.Snapshot(ctx, vol.Ref(), "snap1"))
	must[spdkrpc.LvolUUID](t, "clone")(c.Clone(ctx, "lvs0/snap1", "clone1"))
	must[spdkrpc.BdevName](t, "image")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "bi0", NumBlocks: 4096, BlockSize: 4096}))
	esnap := must[spdkrpc.LvolUUID](t, "clone_bdev")(c.CloneBdev(ctx, "bi0", "lvs0", "esnap1"))
	thin := must[spdkrpc.LvolUUID](t, "thin")(c.CreateLvol(ctx, spdkrpc.CreateLvolParams{Lvs: lvs, Name: "thin2", SizeMiB: 16, ThinProvision: true}))
	if err := c.SetParent(ctx, thin.Ref(), snap.Ref()); err != nil {
		t.Fatal(err)
	}

	lvols := must[[]spdkrpc.Lvol](t, "get lvols")(c.GetLvols(ctx, lvs))
	if len(lvols) != 5 {
		t.Errorf("%d lvols, want 5: %+v", len(lvols), lvols)
	}
	bdevs := must[[]spdkrpc.Bdev](t, "get bdev")(c.GetBdevs(ctx, spdkrpc.GetBdevsParams{Name: snap.BdevRef()}))
	info, ok := bdevs[0].LvolInfo()
	if !ok || !info.Snapshot || len(info.Clones) != 3 {
		t.Errorf("snapshot driver info: %+v", info)
	}
	bdevs = must[[]spdkrpc.Bdev](t, "get esnap")(c.GetBdevs(ctx, spdkrpc.GetBdevsParams{Name: esnap.BdevRef()}))
	if info, ok := bdevs[0].LvolInfo(); !ok || !info.EsnapClone || info.ExternalSnapshotName == "" {
		t.Errorf("esnap driver info: %+v", info)
	}

	if err := c.ResizeLvol(ctx, "lvs0/clone1", 32); err != nil {
		t.Error(err)
	}
	if err := c.RenameLvol(ctx, "lvs0/clone1", "clone1b"); err != nil {
		t.Error(err)
	}
	if err := c.SetReadOnly(ctx, "lvs0/clone1b"); err != nil {
		t.Error(err)
	}
	if err := c.DecoupleParent(ctx, thin.Ref()); err != nil {
		t.Error(err)
	}
	if err := c.Inflate(ctx, esnap.Ref()); err != nil {
		t.Error(err)
	}
	must[spdkrpc.BdevName](t, "copy target")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "Malloc2", NumBlocks: 65536, BlockSize: 4096}))
	op := must[uint32](t, "shallow copy")(c.StartShallowCopy(ctx, snap.Ref(), "Malloc2"))
	st := must[spdkrpc.ShallowCopyStatus](t, "check copy")(c.CheckShallowCopy(ctx, op))
	if st.State == "" || st.TotalClusters == 0 {
		t.Errorf("shallow copy status: %+v", st)
	}
	if err := c.RenameLvstore(ctx, "lvs0", "lvsX"); err != nil {
		t.Error(err)
	}
	if err := c.GrowLvstore(ctx, spdkrpc.LvsByName("lvsX")); err != nil {
		t.Error(err)
	}
	if err := c.DeleteLvol(ctx, "lvsX/clone1b"); err != nil {
		t.Error(err)
	}
	iostat := must[*spdkrpc.Iostat](t, "iostat")(c.GetIostat(ctx, ""))
	if iostat.TickRate == 0 || len(iostat.Bdevs) == 0 {
		t.Errorf("iostat: %+v", iostat)
	}
	types := must[[]string](t, "notify types")(c.NotifyGetTypes(ctx))
	notes := must[[]spdkrpc.Notification](t, "notifications")(c.NotifyGetNotifications(ctx, 0, 0))
	if len(types) == 0 || len(notes) == 0 {
		t.Errorf("notify types %v, notifications %d", types, len(notes))
	}
	if err := c.DeleteLvstore(ctx, spdkrpc.LvsByName("lvsX")); err != nil {
		t.Error(err)
	}
	if err := c.MallocDelete(ctx, "Malloc2"); err != nil {
		t.Error(err)
	}

	file := filepath.Join(t.TempDir(), "aio.img")
	if err := os.WriteFile(file, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	aio := must[spdkrpc.BdevName](t, "aio")(c.AioCreate(ctx, spdkrpc.AioCreateParams{Name: "aio0", Filename: file, BlockSize: 4096}))
	if err := c.AioDelete(ctx, aio); err != nil {
		t.Error(err)
	}
}

// TestSim_errorSentinels provokes every classified SPDK error on the
// simulator and checks the sentinel and the original answer.
func TestSim_errorSentinels(t *testing.T) {
	_, path := startSim(t, spdksim.Options{PollInterval: -1, NoDefects: true})
	c := dialMini(t, path, spdkrpc.Options{})
	ctx := context.Background()
	must[spdkrpc.BdevName](t, "malloc")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "Malloc0", NumBlocks: 65536, BlockSize: 4096}))
	must[spdkrpc.LvstoreUUID](t, "lvstore")(c.CreateLvstore(ctx, spdkrpc.CreateLvstoreParams{BdevName: "Malloc0", LvsName: "lvs0"}))
	lvs := spdkrpc.LvsByName("lvs0")
	thin := func(name spdkrpc.LvolName) error {
		_, err := c.CreateLvol(ctx, spdkrpc.CreateLvolParams{Lvs: lvs, Name: name, SizeMiB: 4, ThinProvision: true})
		return err
	}
	if err := thin("vol1"); err != nil {
		t.Fatal(err)
	}
	must[spdkrpc.LvolUUID](t, "snap1")(c.Snapshot(ctx, "lvs0/vol1", "snap1"))
	must[spdkrpc.LvolUUID](t, "clone1")(c.Clone(ctx, "lvs0/snap1", "clone1"))
	must[spdkrpc.BdevName](t, "bi0")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "bi0", NumBlocks: 4096, BlockSize: 4096}))
	must[spdkrpc.LvolUUID](t, "esnap")(c.CloneBdev(ctx, "bi0", "lvs0", "esnap1"))

	for _, tc := range []struct {
		name string
		call func() error
		want error
		code int // 0: refused before sending, no *Error
	}{
		{"delete a missing lvol", func() error { return c.DeleteLvol(ctx, "lvs0/nope") }, spdkrpc.ErrNotFound, -19},
		{"rename a missing lvstore", func() error { return c.RenameLvstore(ctx, "nolvs", "x") }, spdkrpc.ErrNotFound, -2},
		{"clone_bdev of a missing bdev", func() error { _, err := c.CloneBdev(ctx, "nobdev", "lvs0", "e2"); return err }, spdkrpc.ErrNotFound, -32602},
		{"duplicate lvol", func() error { return thin("vol1") }, spdkrpc.ErrExists, -17},
		{"snapshot onto a taken name", func() error { _, err := c.Snapshot(ctx, "lvs0/clone1", "vol1"); return err }, spdkrpc.ErrExists, -32602},
		{"delete a snapshot with two clones", func() error { return c.DeleteLvol(ctx, "lvs0/snap1") }, spdkrpc.ErrNotPermitted, -32603},
		{"lvstore on a claimed bdev", func() error {
			_, err := c.CreateLvstore(ctx, spdkrpc.CreateLvstoreParams{BdevName: "Malloc0", LvsName: "lvs9"})
			return err
		}, spdkrpc.ErrNotPermitted, -1},
		{"delete the base of an esnap clone", func() error { return c.MallocDelete(ctx, "bi0") }, spdkrpc.ErrBusy, -16},
		{"name too long", func() error { return thin(spdkrpc.LvolName(strings.Repeat("n", 64))) }, spdkrpc.ErrInvalidArgument, -22},
		{"thick lvol too big", func() error {
			_, err := c.CreateLvol(ctx, spdkrpc.CreateLvolParams{Lvs: lvs, Name: "huge", SizeMiB: 100000})
			return err
		}, spdkrpc.ErrNoSpace, -32602},
		{"unknown key", func() error {
			_, err := c.CallRaw(ctx, "bdev_lvol_delete", json.RawMessage(`{"name":"lvs0/vol1","bogus":1}`))
			return err
		}, spdkrpc.ErrInvalidParams, -32603},
		{"params on a parameterless method", func() error {
			_, err := c.CallRaw(ctx, "spdk_get_version", json.RawMessage(`{"x":1}`))
			return err
		}, spdkrpc.ErrInvalidParams, -32602},
		{"params as an array", func() error {
			_, err := c.CallRaw(ctx, "bdev_lvol_delete", json.RawMessage(`["lvs0/vol1"]`))
			return err
		}, spdkrpc.ErrInvalidParams, -32603},
		{"params as a string", func() error {
			_, err := c.CallRaw(ctx, "bdev_lvol_delete", json.RawMessage(`"lvs0/vol1"`))
			return err
		}, spdkrpc.ErrInvalidRequest, 0},
		{"a method this SPDK lacks", func() error { _, err := c.CallRaw(ctx, "no_such_method", nil); return err }, spdkrpc.ErrMethodNotFound, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var se *spdkrpc.Error
			if got := errors.As(err, &se); got != (tc.code != 0) || got && se.Code != tc.code {
				t.Errorf("errors.As = %v (%+v), want code %d", got, se, tc.code)
			}
		})
	}

	// Out of metadata pages: the default ratio gives a 256 MiB store 64
	// pages, so about 60 lvols fit.
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		err = thin(spdkrpc.LvolName(fmt.Sprintf("fill%d", i)))
	}
	if !errors.Is(err, spdkrpc.ErrNoMemory) {
		t.Errorf("filling the lvstore: %v, want ErrNoMemory", err)
	}
}

func TestSim_pipelinedCreates(t *testing.T) {
	_, path := startSim(t, spdksim.Options{}) // spdk_tgt's 4 ms poller
	c := dialMini(t, path, spdkrpc.Options{})
	ctx := context.Background()
	must[spdkrpc.BdevName](t, "malloc")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "Malloc0", NumBlocks: 65536, BlockSize: 4096}))
	must[spdkrpc.LvstoreUUID](t, "lvstore")(c.CreateLvstore(ctx, spdkrpc.CreateLvstoreParams{BdevName: "Malloc0", LvsName: "lvs0", NumMdPagesPerClusterRatio: 4000}))

	var wg sync.WaitGroup
	uuids := make([]spdkrpc.LvolUUID, 50)
	for i := range uuids {
		wg.Go(func() {
			u, err := c.CreateLvol(ctx, spdkrpc.CreateLvolParams{Lvs: spdkrpc.LvsByName("lvs0"), Name: spdkrpc.LvolName(fmt.Sprintf("v%d", i)), SizeMiB: 4, ThinProvision: true})
			if err != nil {
				t.Error(err)
			}
			uuids[i] = u
		})
	}
	wg.Wait()
	// Each caller got the UUID of its own lvol.
	lvols := must[[]spdkrpc.Lvol](t, "get lvols")(c.GetLvols(ctx, spdkrpc.LvstoreID{}))
	byName := map[spdkrpc.LvolName]spdkrpc.LvolUUID{}
	for _, l := range lvols {
		byName[l.Name] = l.UUID
	}
	for i, u := range uuids {
		if got := byName[spdkrpc.LvolName(fmt.Sprintf("v%d", i))]; got != u || u == "" {
			t.Errorf("v%d: the call returned %q, SPDK lists %q", i, u, got)
		}
	}
}

func TestSim_cancelledCallStillRunsAndLateReplyIsDropped(t *testing.T) {
	sim, path := startSim(t, fastSim)
	c := dialMini(t, path, spdkrpc.Options{})
	ctx := context.Background()
	must[spdkrpc.BdevName](t, "malloc")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "Malloc0", NumBlocks: 65536, BlockSize: 4096}))

	sim.SetDelay("bdev_lvol_create_lvstore", 300*time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	_, err := c.CreateLvstore(short, spdkrpc.CreateLvstoreParams{BdevName: "Malloc0", LvsName: "lvs0"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	// SPDK executed it anyway; its late reply is dropped and later calls
	// get their own answers.
	time.Sleep(400 * time.Millisecond)
	stores := must[[]spdkrpc.Lvstore](t, "get lvstores")(c.GetLvstores(ctx, spdkrpc.LvstoreID{}))
	if len(stores) != 1 || stores[0].Name != "lvs0" {
		t.Errorf("lvstores after the abandoned create: %+v", stores)
	}
}

func TestSim_crashAndRestart(t *testing.T) {
	sim, path := startSim(t, fastSim)
	c := dialMini(t, path, spdkrpc.Options{MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	ctx := context.Background()

	// The real defect: deleting the base of an esnap clone never answers,
	// and deleting the clone then crashes the target.
	must[spdkrpc.BdevName](t, "malloc")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "Malloc0", NumBlocks: 65536, BlockSize: 4096}))
	must[spdkrpc.LvstoreUUID](t, "lvstore")(c.CreateLvstore(ctx, spdkrpc.CreateLvstoreParams{BdevName: "Malloc0", LvsName: "lvs0"}))
	must[spdkrpc.BdevName](t, "bi0")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "bi0", NumBlocks: 4096, BlockSize: 4096}))
	must[spdkrpc.LvolUUID](t, "esnap")(c.CloneBdev(ctx, "bi0", "lvs0", "esnapclone1"))

	hung, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err := c.MallocDelete(hung, "bi0")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deleting the esnap base: %v, want it to hang", err)
	}
	if err := c.DeleteLvol(ctx, "lvs0/esnapclone1"); !errors.Is(err, spdkrpc.ErrDisconnected) {
		t.Fatalf("deleting the esnap clone: %v, want ErrDisconnected (the target crashed)", err)
	}
	if _, err := c.GetVersion(ctx); !errors.Is(err, spdkrpc.ErrDisconnected) {
		t.Errorf("call while the target is down: %v, want ErrDisconnected", err)
	}
	if err := sim.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := c.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	// A restarted target has no malloc bdevs, so no lvstores.
	stores := must[[]spdkrpc.Lvstore](t, "get lvstores")(c.GetLvstores(ctx, spdkrpc.LvstoreID{}))
	if len(stores) != 0 {
		t.Errorf("lvstores after restart: %+v", stores)
	}
}

// BenchmarkSimGetVersion50 is the 50-call comparison against the simulator
// with spdk_tgt's 4 ms poll period.
func BenchmarkSimGetVersion50(b *testing.B) {
	_, path := startSim(b, spdksim.Options{})
	c := dialMini(b, path, spdkrpc.Options{})
	benchmark50(b, c)
}
