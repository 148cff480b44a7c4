package agent

import (
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/agent/guard"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// The guard's table is the agent's one classification: reads pass to
// anyone, everything else needs the allow list, and a method it does not
// know is not read-only.
func TestClassesOfCommonMethods(t *testing.T) {
	tests := []struct {
		method   string
		readOnly bool
	}{
		{"bdev_get_bdevs", true},
		{"bdev_lvol_get_lvols", true},
		{"rpc_get_methods", true},
		{"spdk_get_version", true},
		{"notify_get_notifications", true},
		{"bdev_lvol_check_shallow_copy", true},
		{"bdev_wait_for_examine", true},
		{"bdev_lvol_delete", false},
		{"bdev_lvol_create", false},
		{"bdev_malloc_delete", false},
		{"bdev_lvol_start_shallow_copy", false},
		{"some_future_method", false},
	}
	for _, tt := range tests {
		e, _ := guard.Lookup(tt.method)
		if got := e.Class == guard.ReadOnly; got != tt.readOnly {
			t.Errorf("%s read-only = %v, want %v", tt.method, got, tt.readOnly)
		}
	}
}

func TestAllowList_checkCaller(t *testing.T) {
	al := allowList{uids: []uint32{0, 1000}, gids: []uint32{6}}
	tests := []struct {
		name string
		peer spdkserver.PeerCred
		ok   bool
	}{
		{"root", spdkserver.PeerCred{OK: true, UID: 0, GID: 0}, true},
		{"listed uid", spdkserver.PeerCred{OK: true, UID: 1000, GID: 1000}, true},
		{"listed gid", spdkserver.PeerCred{OK: true, UID: 4242, GID: 6}, true},
		{"stranger", spdkserver.PeerCred{OK: true, UID: 4242, GID: 4242, PID: 7}, false},
		{"unknown credentials", spdkserver.PeerCred{OK: false, UID: 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := al.checkCaller(tt.peer, "bdev_lvol_delete")
			if (e == nil) != tt.ok {
				t.Fatalf("checkCaller = %v, want allowed=%v", e, tt.ok)
			}
			if e == nil {
				return
			}
			if e.Code != -1 || !strings.HasPrefix(e.Message, "Operation not permitted: caller-not-allowed") {
				t.Errorf("refusal = %d %q, want -1 Operation not permitted: caller-not-allowed...", e.Code, e.Message)
			}
			f, ok := refusalOf(e)
			if !ok || f.Rule != ruleCallerNotAllowed || f.Method != "bdev_lvol_delete" {
				t.Errorf("refusal data = %+v (ok %v)", f, ok)
			}
		})
	}
}
