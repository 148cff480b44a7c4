package spdksim

import (
	"errors"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// Sharp edges 2, 3, 7, 8 and 9, each on a fresh target with two lvstores.
func TestSharpEdges(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, tg *Target)
	}{
		{"2: esnap clone of a claimed bdev crashes at reopen", func(t *testing.T, tg *Target) {
			must[string](t, tg, "bdev_lvol_clone_bdev", obj{"bdev": "MallocB", "lvs_name": "lvsA", "clone_name": "e"})
			if _, err := call(t, tg, "bdev_lvol_rename_lvstore", obj{"old_name": "lvsA", "new_name": "lvsZ"}); !errors.Is(err, spdkserver.ErrCrash) {
				t.Fatalf("rename_lvstore: %v, want crash", err)
			}
			if _, err := call(t, tg, "spdk_get_version", nil); !errors.Is(err, spdkserver.ErrCrash) {
				t.Fatalf("after the crash: %v, want nothing answered", err)
			}
		}},
		{"2: set_parent_bdev to the own lvstore base", func(t *testing.T, tg *Target) {
			create(t, tg, "lvsA", "v", 4, true)
			wantErr(t, tg, "bdev_lvol_set_parent_bdev", obj{"lvol_name": "lvsA/v", "parent_name": "MallocA"}, -32602, "Invalid argument")
		}},
		{"3: deleting an lvol used as external snapshot hangs", func(t *testing.T, tg *Target) {
			create(t, tg, "lvsB", "img", 4, false)
			must[string](t, tg, "bdev_lvol_clone_bdev", obj{"bdev": "lvsB/img", "lvs_name": "lvsA", "clone_name": "e"})
			if _, err := call(t, tg, "bdev_lvol_delete", obj{"name": "lvsB/img"}); !errors.Is(err, spdkserver.ErrNoReply) {
				t.Fatalf("delete: %v, want no reply", err)
			}
			if _, ok := lvols(t, tg)["lvsB/img"]; !ok {
				t.Fatal("the lvol must stay listed")
			}
			if b := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": "lvsB/img"})[0]; !b.Claimed {
				t.Fatal("an esnap base lvol must be claimed")
			}
		}},
		{"3: clone_bdev of a same-lvs lvol is refused", func(t *testing.T, tg *Target) {
			create(t, tg, "lvsA", "img", 4, false)
			wantErr(t, tg, "bdev_lvol_clone_bdev", obj{"bdev": "lvsA/img", "lvs_name": "lvsA", "clone_name": "e"},
				-32602, "bdev is an lvol in same lvs as clone; use bdev_lvol_clone instead")
			create(t, tg, "lvsA", "v", 4, true)
			must[bool](t, tg, "bdev_lvol_set_parent_bdev", obj{"lvol_name": "lvsA/v", "parent_name": "lvsA/img"})
		}},
		{"7: deleting an lvstore's base destroys the lvstore", func(t *testing.T, tg *Target) {
			create(t, tg, "lvsA", "v", 4, true)
			must[bool](t, tg, "bdev_malloc_delete", obj{"name": "MallocA"})
			wantErr(t, tg, "bdev_lvol_get_lvstores", obj{"lvs_name": "lvsA"}, -19, "No such device")
			wantErr(t, tg, "bdev_get_bdevs", obj{"name": "lvsA/v"}, -19, "No such device")
			if len(lvols(t, tg)) != 0 {
				t.Fatal("lvols left behind")
			}
		}},
		{"8: more error replies", func(t *testing.T, tg *Target) {
			create(t, tg, "lvsA", "v", 4, true)
			create(t, tg, "lvsB", "w", 4, true)
			snapshot(t, tg, "lvsB/w", "sb")
			wantErr(t, tg, "bdev_lvol_set_parent", obj{"lvol_name": "lvsA/v", "parent_name": "lvsB/sb"}, -32602, "No such file or directory")
			must[string](t, tg, "bdev_malloc_create", obj{"name": "bi", "num_blocks": 1024, "block_size": 4096})
			wantErr(t, tg, "bdev_lvol_clone_bdev", obj{"bdev": "bi", "lvs_name": "lvsA", "clone_name": "v"}, -32602, "File exists")
			wantErr(t, tg, "bdev_lvol_rename_lvstore", obj{"old_name": "lvsA", "new_name": ""}, -32602, "File exists")
			must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "lvsA/v"})
			wantErr(t, tg, "bdev_lvol_snapshot", obj{"lvol_name": "lvsA/v", "snapshot_name": "s"}, -32602, "Invalid argument")
			must[string](t, tg, "bdev_malloc_create", obj{"name": "tiny", "num_blocks": 256, "block_size": 4096})
			op := must[struct {
				ID uint32 `json:"operation_id"`
			}](t, tg, "bdev_lvol_start_shallow_copy", obj{"src_lvol_name": "lvsB/sb", "dst_bdev_name": "tiny"})
			st := must[shallowCopyStatus](t, tg, "bdev_lvol_check_shallow_copy", obj{"operation_id": op.ID})
			if st != (shallowCopyStatus{State: "error", Error: "Invalid argument"}) {
				t.Fatalf("shallow copy to a small bdev: %+v", st)
			}
			must[string](t, tg, "bdev_malloc_create", obj{"name": "b512", "num_blocks": 65536, "block_size": 512})
			must[string](t, tg, "bdev_lvol_create_lvstore", obj{"bdev_name": "b512", "lvs_name": "lvs512"})
			wantErr(t, tg, "bdev_lvol_clone_bdev", obj{"bdev": "bi", "lvs_name": "lvs512", "clone_name": "e"}, -32602, "Invalid argument")
			create(t, tg, "lvs512", "x", 4, true)
			must[bool](t, tg, "bdev_lvol_set_parent_bdev", obj{"lvol_name": "lvs512/x", "parent_name": "bi"})
		}},
		{"8: malloc out of memory is -12", func(t *testing.T, _ *Target) {
			tg := NewTarget(Options{MemoryLimit: 1 << 30})
			wantErr(t, tg, "bdev_malloc_create", obj{"name": "big", "num_blocks": 1 << 19, "block_size": 4096}, -12, "Cannot allocate memory")
		}},
		{"9: accepted calls", func(t *testing.T, tg *Target) {
			create(t, tg, "lvsA", "v", 8, false)
			must[bool](t, tg, "bdev_lvol_resize", obj{"name": "lvsA/v", "size_in_mib": 4})
			must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "lvsA/v"})
			must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "lvsA/v"})
			must[bool](t, tg, "bdev_lvol_inflate", obj{"name": "lvsA/v"})
			create(t, tg, "lvsA", "ro", 16, true)
			must[bool](t, tg, "bdev_lvol_set_read_only", obj{"name": "lvsA/ro"})
			must[string](t, tg, "bdev_malloc_create", obj{"name": "bi", "num_blocks": 4096, "block_size": 4096})
			must[bool](t, tg, "bdev_lvol_set_parent_bdev", obj{"lvol_name": "lvsA/ro", "parent_name": "bi"})
			must[string](t, tg, "bdev_malloc_create", obj{"name": "dst", "num_blocks": 8192, "block_size": 4096})
			must[struct{}](t, tg, "bdev_lvol_start_shallow_copy", obj{"src_lvol_name": "lvsA/ro", "dst_bdev_name": "dst"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newStore(t, Options{}, "MallocA", "lvsA", 256, nil)
			addStore(t, tg, "MallocB", "lvsB", 256, nil)
			tt.run(t, tg)
		})
	}
}

// TestNoDefects checks that with the defects off, the esnap-base deletes
// answer -16 instead of hanging, and nothing crashes.
func TestNoDefects(t *testing.T) {
	tg := newStore(t, Options{NoDefects: true}, "Malloc0", "lvs0", 256, nil)
	must[string](t, tg, "bdev_malloc_create", obj{"name": "bi0", "num_blocks": 4096, "block_size": 4096})
	must[string](t, tg, "bdev_lvol_clone_bdev", obj{"bdev": "bi0", "lvs_name": "lvs0", "clone_name": "e"})
	wantErr(t, tg, "bdev_malloc_delete", obj{"name": "bi0"}, -16, "Device or resource busy")
	del(t, tg, "lvs0/e")
	must[bool](t, tg, "bdev_malloc_delete", obj{"name": "bi0"})
}

func TestNotifications(t *testing.T) {
	tg := NewTarget(Options{})
	if got := must[[]string](t, tg, "notify_get_types", nil); len(got) != 2 {
		t.Fatalf("types = %v", got)
	}
	addStore(t, tg, "Malloc0", "lvs0", 64, nil)
	u := create(t, tg, "lvs0", "v", 4, true)
	del(t, tg, "lvs0/v")
	want := []notification{{"bdev_register", "Malloc0", 0}, {"bdev_register", u, 1}, {"bdev_unregister", u, 2}}
	got := must[[]notification](t, tg, "notify_get_notifications", nil)
	if len(got) != len(want) {
		t.Fatalf("notifications = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("notification %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := must[[]notification](t, tg, "notify_get_notifications", obj{"id": 1, "max": 1}); len(got) != 1 || got[0] != want[1] {
		t.Fatalf("id 1 max 1: %+v", got)
	}
	if got := must[[]notification](t, tg, "notify_get_notifications", obj{"id": 3}); len(got) != 0 {
		t.Fatalf("id 3: %+v", got)
	}
}

func TestParams_strictDecoding(t *testing.T) {
	tg := newStore(t, Options{}, "Malloc0", "lvs0", 64, nil)
	const decode = "spdk_json_decode_object failed"
	tests := []struct {
		method, params string
		code           int
		msg            string
	}{
		{"bdev_lvol_create", `{"lvs_name":"lvs0"}`, -32603, decode},
		{"bdev_lvol_create", `{"lvs_name":"lvs0","lvol_name":"x","size_in_mib":-1}`, -32603, decode},
		{"bdev_lvol_create", `{"lvs_name":"lvs0","lvol_name":"x","size_in_mib":1.5}`, -32603, decode},
		{"bdev_lvol_create", `{"lvs_name":"lvs0","lvol_name":null,"size_in_mib":1}`, -32603, decode},
		{"bdev_lvol_create", `{"lvs_name":"lvs0","lvol_name":"x","size_in_mib":1,"thin_provision":1}`, -32603, decode},
		{"bdev_lvol_check_shallow_copy", `{"operation_id":4294967296}`, -32603, decode},
		{"bdev_malloc_create", `{"num_blocks":1,"block_size":4096,"uuid":"nope"}`, -32603, decode},
		{"bdev_lvol_delete", `["lvs0/x"]`, -32603, decode},
		{"bdev_lvol_delete", ``, -32603, decode},
		{"bdev_lvol_delete", `7`, -32600, "Invalid request"},
		{"spdk_get_version", `{}`, -32602, "spdk_get_version method requires no parameters"},
		{"bdev_wait_for_examine", `[]`, -32602, "bdev_wait_for_examine method requires no parameters"},
		{"bdev_nvme_attach_controller", `{}`, -32601, "Method not found"},
		{"bdev_lvol_create_lvstore", `{"bdev_name":"Malloc0","lvs_name":"x","clear_method":"shred"}`, -22, "Invalid clear_method parameter"},
		{"bdev_lvol_create", `{"lvol_name":"v","size_in_mib":1,"lvs_name":"nope","clear_method":"shred"}`, -19, "No such device"},
		{"bdev_lvol_get_lvstores", `{}`, -22, "Invalid argument"},
		{"bdev_lvol_get_lvols", `{}`, -22, "Invalid argument"},
		{"bdev_lvol_get_lvols", `{"lvs_name":"lvs0","lvs_uuid":"x"}`, -22, "Invalid argument"},
	}
	for _, tt := range tests {
		_, err := serve(tg, tt.method, []byte(tt.params))
		var e *spdkrpc.Error
		if !errors.As(err, &e) || e.Code != tt.code || e.Message != tt.msg {
			t.Errorf("%s %s: %v, want %d %q", tt.method, tt.params, err, tt.code, tt.msg)
		}
	}
	// Optional-only methods list everything without params; {} asks for
	// neither of a pair that needs exactly one (above).
	for _, p := range []string{``, `null`} {
		if _, err := serve(tg, "bdev_lvol_get_lvstores", []byte(p)); err != nil {
			t.Errorf("get_lvstores %q: %v", p, err)
		}
	}
}

func TestRPCGetMethods_listsImplemented(t *testing.T) {
	listed := map[string]bool{}
	for _, m := range recordedMethods {
		listed[m] = true
	}
	if len(listed) != 226 {
		t.Fatalf("%d methods, recorded 226", len(listed))
	}
	for m := range methods {
		if !listed[m] {
			t.Errorf("%s is implemented but a real target does not list it", m)
		}
	}
}

func FuzzServeRPC(f *testing.F) {
	f.Add("bdev_lvol_create", `{"lvs_name":"lvs0","lvol_name":"x","size_in_mib":18446744073709551615}`)
	f.Add("bdev_lvol_resize", `{"name":"lvs0/v","size_in_mib":99999999999999}`)
	f.Add("bdev_get_bdevs", `{"name":"lvs0/v"}`)
	f.Add("bdev_lvol_clone_bdev", `{"bdev":"Malloc0","lvs_name":"lvs0","clone_name":"\u00e9"}`)
	f.Add("bdev_lvol_rename", `{"old_name":"lvs0/v","new_name":"ééééééééééééééééééééééééééééééééé"}`)
	f.Add("bdev_malloc_create", `{"num_blocks":0,"block_size":0}`)
	f.Add("notify_get_notifications", `{"id":18446744073709551615,"max":1}`)
	f.Fuzz(func(t *testing.T, method, params string) {
		tg := newStore(t, Options{}, "Malloc0", "lvs0", 64, nil)
		create(t, tg, "lvs0", "v", 4, false)
		res, err := serve(tg, method, []byte(params))
		var e *spdkrpc.Error
		switch {
		case err == nil:
			if len(res) == 0 {
				t.Fatalf("%s %s: empty result", method, params)
			}
		case errors.As(err, &e), errors.Is(err, spdkserver.ErrNoReply), errors.Is(err, spdkserver.ErrCrash):
		default:
			t.Fatalf("%s %s: unexpected error %v", method, params, err)
		}
	})
}
