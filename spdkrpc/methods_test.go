package spdkrpc

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// TestTypedMethods checks the request every typed method sends (method and
// params, member for member as SPDK's schema names them, absent when there
// are none) and that it decodes the recorded shape of the answer.
func TestTypedMethods(t *testing.T) {
	results := map[string]any{
		"bdev_lvol_create_lvstore":     "lvs-uuid",
		"bdev_lvol_get_lvstores":       []Lvstore{{UUID: "lvs-uuid", Name: "lvs0", ClusterSize: 4 << 20}},
		"bdev_lvol_create":             "vol-uuid",
		"bdev_lvol_get_lvols":          []Lvol{{Alias: "lvs0/vol1", UUID: "vol-uuid", Name: "vol1"}},
		"bdev_lvol_snapshot":           "snap-uuid",
		"bdev_lvol_clone":              "clone-uuid",
		"bdev_lvol_clone_bdev":         "esnap-uuid",
		"bdev_lvol_start_shallow_copy": map[string]int{"operation_id": 1},
		"bdev_lvol_check_shallow_copy": ShallowCopyStatus{CopiedClusters: 4, TotalClusters: 4, State: "complete"},
		"bdev_get_bdevs":               []Bdev{{Name: "Malloc0", BlockSize: 4096, NumBlocks: 65536}},
		"bdev_get_iostat":              Iostat{TickRate: 2400000000, Bdevs: []BdevIostat{{Name: "Malloc0", NumReadOps: 3}}},
		"bdev_malloc_create":           "Malloc0",
		"bdev_aio_create":              "aio0",
		"notify_get_types":             []string{"bdev_register", "bdev_unregister"},
		"notify_get_notifications":     []Notification{{Type: "bdev_register", Ctx: "Malloc0", ID: 1}},
	}
	f := newFake(t, func(r fakeReq) fakeReply {
		if res, ok := results[r.Method]; ok {
			return fakeReply{Result: res}
		}
		return fakeReply{Result: true}
	}).start()
	methods := []string{"spdk_get_version", "rpc_get_methods", "bdev_lvol_create_lvstore", "bdev_lvol_get_lvstores",
		"bdev_lvol_rename_lvstore", "bdev_lvol_grow_lvstore", "bdev_lvol_delete_lvstore", "bdev_lvol_create",
		"bdev_lvol_delete", "bdev_lvol_get_lvols", "bdev_lvol_snapshot", "bdev_lvol_clone", "bdev_lvol_clone_bdev",
		"bdev_lvol_set_parent", "bdev_lvol_set_parent_bdev", "bdev_lvol_rename", "bdev_lvol_resize",
		"bdev_lvol_set_read_only", "bdev_lvol_inflate", "bdev_lvol_decouple_parent", "bdev_lvol_start_shallow_copy",
		"bdev_lvol_check_shallow_copy", "bdev_get_bdevs", "bdev_get_iostat", "bdev_malloc_create",
		"bdev_malloc_delete", "bdev_aio_create", "bdev_aio_delete", "bdev_wait_for_examine",
		"framework_wait_init", "notify_get_types", "notify_get_notifications"}
	f.setMethods(methods)
	c := newTestClient(t, f, Options{})
	connected(t, c)
	ctx := context.Background()

	for _, tc := range []struct {
		method, params string // params "" means none sent
		call           func() (any, error)
		want           any
	}{
		{"bdev_lvol_create_lvstore", `{"bdev_name":"Malloc0","lvs_name":"lvs0","cluster_sz":1048576,"num_md_pages_per_cluster_ratio":4000}`,
			func() (any, error) {
				return c.CreateLvstore(ctx, CreateLvstoreParams{BdevName: "Malloc0", LvsName: "lvs0", ClusterSize: 1 << 20, NumMdPagesPerClusterRatio: 4000})
			}, LvstoreUUID("lvs-uuid")},
		{"bdev_lvol_get_lvstores", "", func() (any, error) { return c.GetLvstores(ctx, LvstoreID{}) }, results["bdev_lvol_get_lvstores"]},
		{"bdev_lvol_get_lvstores", `{"lvs_name":"lvs0"}`, func() (any, error) { return c.GetLvstores(ctx, LvsByName("lvs0")) }, results["bdev_lvol_get_lvstores"]},
		{"bdev_lvol_get_lvstores", `{"uuid":"u1"}`, func() (any, error) { return c.GetLvstores(ctx, LvsByUUID("u1")) }, results["bdev_lvol_get_lvstores"]},
		{"bdev_lvol_rename_lvstore", `{"old_name":"lvs0","new_name":"lvsX"}`, func() (any, error) { return nil, c.RenameLvstore(ctx, "lvs0", "lvsX") }, nil},
		{"bdev_lvol_grow_lvstore", `{"lvs_name":"lvs0"}`, func() (any, error) { return nil, c.GrowLvstore(ctx, LvsByName("lvs0")) }, nil},
		{"bdev_lvol_delete_lvstore", `{"uuid":"u1"}`, func() (any, error) { return nil, c.DeleteLvstore(ctx, LvsByUUID("u1")) }, nil},
		{"bdev_lvol_create", `{"lvol_name":"vol1","size_in_mib":0,"lvs_name":"lvs0"}`,
			func() (any, error) { return c.CreateLvol(ctx, CreateLvolParams{Lvs: LvsByName("lvs0"), Name: "vol1"}) }, LvolUUID("vol-uuid")},
		{"bdev_lvol_create", `{"lvol_name":"t","size_in_mib":16,"thin_provision":true,"uuid":"u1","clear_method":"none"}`,
			func() (any, error) {
				return c.CreateLvol(ctx, CreateLvolParams{Lvs: LvsByUUID("u1"), Name: "t", SizeMiB: 16, ThinProvision: true, ClearMethod: "none"})
			}, LvolUUID("vol-uuid")},
		{"bdev_lvol_delete", `{"name":"lvs0/vol1"}`, func() (any, error) { return nil, c.DeleteLvol(ctx, LvolAlias("lvs0/vol1").Ref()) }, nil},
		{"bdev_lvol_get_lvols", "", func() (any, error) { return c.GetLvols(ctx, LvstoreID{}) }, results["bdev_lvol_get_lvols"]},
		{"bdev_lvol_get_lvols", `{"lvs_uuid":"u1"}`, func() (any, error) { return c.GetLvols(ctx, LvsByUUID("u1")) }, results["bdev_lvol_get_lvols"]},
		{"bdev_lvol_snapshot", `{"lvol_name":"lvs0/vol1","snapshot_name":"snap1"}`, func() (any, error) { return c.Snapshot(ctx, "lvs0/vol1", "snap1") }, LvolUUID("snap-uuid")},
		{"bdev_lvol_clone", `{"snapshot_name":"lvs0/snap1","clone_name":"c1"}`, func() (any, error) { return c.Clone(ctx, "lvs0/snap1", "c1") }, LvolUUID("clone-uuid")},
		{"bdev_lvol_clone_bdev", `{"bdev":"bi0","lvs_name":"lvs0","clone_name":"e1"}`, func() (any, error) { return c.CloneBdev(ctx, BdevName("bi0").Ref(), "lvs0", "e1") }, LvolUUID("esnap-uuid")},
		{"bdev_lvol_set_parent", `{"lvol_name":"lvs0/thin2","parent_name":"lvs0/snap1"}`, func() (any, error) { return nil, c.SetParent(ctx, "lvs0/thin2", "lvs0/snap1") }, nil},
		{"bdev_lvol_set_parent_bdev", `{"lvol_name":"lvs0/thin3","parent_name":"bi1"}`, func() (any, error) { return nil, c.SetParentBdev(ctx, "lvs0/thin3", "bi1") }, nil},
		{"bdev_lvol_rename", `{"old_name":"lvs0/thin1","new_name":"thin1renamed"}`, func() (any, error) { return nil, c.RenameLvol(ctx, "lvs0/thin1", "thin1renamed") }, nil},
		{"bdev_lvol_resize", `{"name":"vol-uuid","size_in_mib":32}`, func() (any, error) { return nil, c.ResizeLvol(ctx, LvolUUID("vol-uuid").Ref(), 32) }, nil},
		{"bdev_lvol_set_read_only", `{"name":"lvs0/vol1"}`, func() (any, error) { return nil, c.SetReadOnly(ctx, "lvs0/vol1") }, nil},
		{"bdev_lvol_inflate", `{"name":"lvs0/thin3"}`, func() (any, error) { return nil, c.Inflate(ctx, "lvs0/thin3") }, nil},
		{"bdev_lvol_decouple_parent", `{"name":"lvs0/thin2"}`, func() (any, error) { return nil, c.DecoupleParent(ctx, "lvs0/thin2") }, nil},
		{"bdev_lvol_start_shallow_copy", `{"src_lvol_name":"lvs0/snap1","dst_bdev_name":"Malloc2"}`, func() (any, error) { return c.StartShallowCopy(ctx, "lvs0/snap1", "Malloc2") }, uint32(1)},
		{"bdev_lvol_check_shallow_copy", `{"operation_id":1}`, func() (any, error) { return c.CheckShallowCopy(ctx, 1) }, results["bdev_lvol_check_shallow_copy"]},
		{"bdev_get_bdevs", "", func() (any, error) { return c.GetBdevs(ctx, GetBdevsParams{}) }, results["bdev_get_bdevs"]},
		{"bdev_get_bdevs", `{"name":"lvs0/vol1","timeout":100}`, func() (any, error) { return c.GetBdevs(ctx, GetBdevsParams{Name: "lvs0/vol1", TimeoutMs: 100}) }, results["bdev_get_bdevs"]},
		{"bdev_get_iostat", "", func() (any, error) { return c.GetIostat(ctx, "") }, ptr(results["bdev_get_iostat"].(Iostat))},
		{"bdev_malloc_create", `{"name":"Malloc0","num_blocks":65536,"block_size":4096}`, func() (any, error) {
			return c.MallocCreate(ctx, MallocCreateParams{Name: "Malloc0", NumBlocks: 65536, BlockSize: 4096})
		}, BdevName("Malloc0")},
		{"bdev_malloc_delete", `{"name":"Malloc0"}`, func() (any, error) { return nil, c.MallocDelete(ctx, "Malloc0") }, nil},
		{"bdev_aio_create", `{"name":"aio0","filename":"/dev/x","block_size":4096}`, func() (any, error) {
			return c.AioCreate(ctx, AioCreateParams{Name: "aio0", Filename: "/dev/x", BlockSize: 4096})
		}, BdevName("aio0")},
		{"bdev_aio_delete", `{"name":"aio0"}`, func() (any, error) { return nil, c.AioDelete(ctx, "aio0") }, nil},
		{"bdev_wait_for_examine", "", func() (any, error) { return nil, c.WaitForExamine(ctx) }, nil},
		{"framework_wait_init", "", func() (any, error) { return nil, c.FrameworkWaitInit(ctx) }, nil},
		{"rpc_get_methods", "", func() (any, error) { return c.GetMethods(ctx) }, methods},
		{"notify_get_types", "", func() (any, error) { return c.NotifyGetTypes(ctx) }, results["notify_get_types"]},
		{"notify_get_notifications", "", func() (any, error) { return c.NotifyGetNotifications(ctx, 0, 0) }, results["notify_get_notifications"]},
		{"notify_get_notifications", `{"id":5,"max":10}`, func() (any, error) { return c.NotifyGetNotifications(ctx, 5, 10) }, results["notify_get_notifications"]},
	} {
		t.Run(tc.method+tc.params, func(t *testing.T) {
			before := len(f.requests())
			got, err := tc.call()
			if err != nil {
				t.Fatal(err)
			}
			sent := f.requests()[before:]
			if len(sent) != 1 || sent[0].Method != tc.method {
				t.Fatalf("sent %q, want one %s", sent, tc.method)
			}
			if tc.params == "" && sent[0].Params != nil || tc.params != "" && !sameJSON(sent[0].Params, []byte(tc.params)) {
				t.Errorf("params = %s, want %s", sent[0].Params, tc.params)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("result = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTypedMethods_refusedLocally(t *testing.T) {
	f := newFake(t, nil).start()
	f.setMethods(nil)
	c := newTestClient(t, f, Options{})
	connected(t, c)
	ctx := context.Background()
	for name, err := range map[string]error{
		"CreateLvol":    func() error { _, err := c.CreateLvol(ctx, CreateLvolParams{Name: "x"}); return err }(),
		"DeleteLvstore": c.DeleteLvstore(ctx, LvstoreID{}),
		"GrowLvstore":   c.GrowLvstore(ctx, LvstoreID{}),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s without an lvstore: %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests sent, want only the handshake's 2", n)
	}
}
