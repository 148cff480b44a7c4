package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

func TestGuard_refusals(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	long := strings.Repeat("x", 64)
	tests := []struct {
		name   string
		method string
		params json.RawMessage
		rule   string
		alive  string // an lvol that must still exist afterwards
	}{
		{"backing image shared by two volumes", "bdev_lvol_delete", params("name", n.demo.SharedImage), "backing-image", n.demo.SharedImage},
		{"backing image with a single clone", "bdev_lvol_delete", params("name", n.demo.SingleCloneImage), "backing-image", n.demo.SingleCloneImage},
		{"snapshot with a clone", "bdev_lvol_delete", params("name", "lvs-malloc/r-1-snap-daily1"), "has-dependents", "lvs-malloc/r-1-snap-daily1"},
		{"lvstore holding lvols", "bdev_lvol_delete_lvstore", params("lvs_name", spdksim.DemoAioLvstore), "lvstore-not-empty", n.demo.Orphan},
		{"lvstore base bdev", "bdev_malloc_delete", params("name", spdksim.DemoMallocBdev), "lvstore-base", n.demo.Expired},
		{"base of an esnap clone", "bdev_malloc_delete", params("name", spdksim.DemoExternalImage), "backing-image", "lvs-aio/r-30"},
		{"esnap clone onto a claimed bdev", "bdev_lvol_clone_bdev", params("bdev", spdksim.DemoMallocBdev, "lvs_name", spdksim.DemoAioLvstore, "clone_name", "bad"), ruleClaimedEsnapBase, ""},
		{"set_parent_bdev onto a claimed bdev", "bdev_lvol_set_parent_bdev", params("lvol_name", n.demo.Orphan, "parent_name", spdksim.DemoAioBdev), ruleClaimedEsnapBase, ""},
		{"rename of a snapshot", "bdev_lvol_rename", params("old_name", "lvs-aio/r-40-snap-s1", "new_name", "x"), ruleRenameReadOnly, "lvs-aio/r-40-snap-s1"},
		{"rename to 64 bytes", "bdev_lvol_rename", params("old_name", n.demo.Orphan, "new_name", long), ruleNameTooLong, n.demo.Orphan},
		{"lvstore rename to 64 bytes", "bdev_lvol_rename_lvstore", params("old_name", spdksim.DemoAioLvstore, "new_name", long), ruleNameTooLong, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := n.via.CallRaw(ctx, tt.method, tt.params)
			f := refusedWith(t, err, tt.rule)
			if f.Method != tt.method {
				t.Errorf("refusal names method %q, want %q", f.Method, tt.method)
			}
			if tt.alive != "" && !n.lvolExists(t, tt.alive) {
				t.Errorf("%s was deleted", tt.alive)
			}
		})
	}
	// Every refusal is in the audit log.
	b, err := os.ReadFile(n.cfg.statePath(auditFileName))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), `"decision":"refused"`); got < len(tests) {
		t.Errorf("audit log has %d refusals, want at least %d", got, len(tests))
	}
}

func TestGuard_allowsWhatIsSafe(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	if _, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan)); err != nil {
		t.Fatalf("deleting the orphan: %v", err)
	}
	if n.lvolExists(t, n.demo.Orphan) {
		t.Fatal("orphan still exists")
	}
	// The agent's graph saw the delete before the reply.
	var ls LvolsReply
	if err := n.via.Call(ctx, "agent_get_lvols", map[string]string{"lvstore": spdksim.DemoAioLvstore}, &ls); err != nil {
		t.Fatal(err)
	}
	for _, l := range ls.Lvols {
		if string(l.Alias) == n.demo.Orphan {
			t.Fatal("graph still lists the deleted orphan")
		}
	}
	// SPDK's own errors come back unchanged.
	_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", "lvs-aio/nope"))
	var se *spdkrpc.Error
	if !errors.As(err, &se) || se.Code != -19 || se.Message != "No such device" {
		t.Fatalf("delete of a missing lvol = %v, want SPDK's -19 No such device", err)
	}
}

func TestAuthz_peerNotAllowed(t *testing.T) {
	// The real SO_PEERCRED path: the test's own uid is not on the list,
	// whoever runs it (root included).
	n := startNode(t, nodeOpts{denySelf: true})
	ctx := context.Background()
	_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan))
	refusedWith(t, err, ruleCallerNotAllowed)
	_, err = n.via.CallRaw(ctx, "bdev_lvol_create", params("lvs_name", "lvs-aio", "lvol_name", "x"))
	refusedWith(t, err, ruleCallerNotAllowed)
	// Reads stay open.
	if _, err := n.via.CallRaw(ctx, "bdev_get_bdevs", nil); err != nil {
		t.Fatalf("read refused: %v", err)
	}
	if !n.lvolExists(t, n.demo.Orphan) {
		t.Fatal("refused delete went through")
	}
}

func TestGuard_renameOfLvolSetReadOnlyThroughAgent(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	if _, err := n.via.CallRaw(ctx, "bdev_lvol_set_read_only", params("name", n.demo.Orphan)); err != nil {
		t.Fatal(err)
	}
	_, err := n.via.CallRaw(ctx, "bdev_lvol_rename", params("old_name", n.demo.Orphan, "new_name", "renamed"))
	refusedWith(t, err, ruleRenameReadOnly)
	if !n.lvolExists(t, n.demo.Orphan) {
		t.Fatal("the refused rename happened")
	}
	// A writable lvol renames fine, and the graph follows at once.
	if _, err := n.via.CallRaw(ctx, "bdev_lvol_rename", params("old_name", n.demo.Expired, "new_name", "renamed")); err != nil {
		t.Fatal(err)
	}
	var d LvolDetail
	if err := n.via.Call(ctx, "agent_get_lvol", map[string]string{"name": "lvs-malloc/renamed"}, &d); err != nil {
		t.Fatalf("renamed lvol not in the graph: %v", err)
	}
}

func TestGuard_deletedLvstoreIsNotMissing(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	if err := n.via.Call(ctx, "bdev_malloc_create", map[string]any{"name": "M9", "num_blocks": 16384, "block_size": 4096}, nil); err != nil {
		t.Fatal(err)
	}
	if err := n.via.Call(ctx, "bdev_lvol_create_lvstore", map[string]any{"bdev_name": "M9", "lvs_name": "tmp"}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitFor(t, "three lvstores", func(s Status) bool { return s.Graph.Lvstores == 3 && s.Graph.Complete })
	if _, err := n.via.CallRaw(ctx, "bdev_lvol_delete_lvstore", params("lvs_name", "tmp")); err != nil {
		t.Fatalf("deleting an empty lvstore: %v", err)
	}
	st := n.waitFor(t, "two lvstores", func(s Status) bool { return s.Graph.Lvstores == 2 })
	if !st.Graph.Complete {
		t.Fatalf("graph incomplete after an lvstore was deleted on purpose: missing %v", st.Graph.Missing)
	}
}

// TestGuard_cloneCannotSlipIntoADelete: a clone of a snapshot that arrives
// while the guard is reading SPDK before deleting that snapshot must not
// land between the check (no clones: allowed) and the delete, or SPDK would
// merge the snapshot into the new clone. The guard's fresh read is slowed
// down so that the clone arrives inside that window.
func TestGuard_cloneCannotSlipIntoADelete(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	lvs := spdksim.DemoAioLvstore
	for _, c := range []struct{ method, params string }{
		{"bdev_lvol_create", `{"lvs_name":"` + lvs + `","lvol_name":"race-vol","size_in_mib":4,"thin_provision":true}`},
		{"bdev_lvol_snapshot", `{"lvol_name":"` + lvs + `/race-vol","snapshot_name":"race-snap"}`},
		{"bdev_lvol_delete", `{"name":"` + lvs + `/race-vol"}`}, // race-snap is left with no clone
	} {
		if _, err := n.via.CallRaw(ctx, c.method, json.RawMessage(c.params)); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
	}

	n.sim.SetDelay("bdev_get_bdevs", 300*time.Millisecond)
	delErr := make(chan error, 1)
	go func() {
		_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", json.RawMessage(`{"name":"`+lvs+`/race-snap"}`))
		delErr <- err
	}()
	time.Sleep(50 * time.Millisecond) // the delete is in its fresh read now
	_, cloneErr := n.via.CallRaw(ctx, "bdev_lvol_clone", json.RawMessage(`{"snapshot_name":"`+lvs+`/race-snap","clone_name":"race-clone"}`))
	err := <-delErr
	n.sim.ClearFaults()

	if err == nil && cloneErr == nil {
		t.Fatal("both the delete of race-snap and a clone of it succeeded: SPDK merged the snapshot into the new clone")
	}
	if err == nil && n.lvolExists(t, lvs+"/race-clone") {
		t.Fatal("race-snap was deleted and race-clone exists")
	}
	if err != nil && !n.lvolExists(t, lvs+"/race-snap") {
		t.Fatalf("the delete failed (%v) but race-snap is gone", err)
	}
}

// TestGuard_detachControllerOfLvstoreBase: bdev_nvme_detach_controller is
// not named *_delete, yet it removes the controller's namespace bdevs, and
// with an lvstore's base bdev every lvol on it (sharp edge 7).
func TestGuard_detachControllerOfLvstoreBase(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true, noDemo: true})
	ctx := context.Background()
	// A malloc bdev named like an NVMe namespace stands in for one.
	for _, c := range []struct{ method, params string }{
		{"bdev_malloc_create", `{"name":"Nvme7n1","num_blocks":16384,"block_size":4096}`},
		{"bdev_lvol_create_lvstore", `{"bdev_name":"Nvme7n1","lvs_name":"lvs-nvme"}`},
		{"bdev_lvol_create", `{"lvs_name":"lvs-nvme","lvol_name":"vol","size_in_mib":4}`},
	} {
		if _, err := n.via.CallRaw(ctx, c.method, json.RawMessage(c.params)); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
	}
	_, err := n.via.CallRaw(ctx, "bdev_nvme_detach_controller", json.RawMessage(`{"name":"Nvme7"}`))
	f := refusedWith(t, err, string(lvolgraph.RuleLvstoreBase))
	if !strings.Contains(f.Reason, "Nvme7n1") {
		t.Errorf("the refusal does not name the namespace bdev: %q", f.Reason)
	}
	// Without a name nothing is detached: SPDK rejects the params.
	_, err = n.via.CallRaw(ctx, "bdev_nvme_detach_controller", json.RawMessage(`{"trtype":"pcie"}`))
	if _, refused := refusalOf(err); refused {
		t.Fatalf("refused a detach that names no controller: %v", err)
	}

	// A controller whose namespaces hold nothing goes to SPDK (the
	// simulator has no NVMe driver and says so).
	_, err = n.via.CallRaw(ctx, "bdev_nvme_detach_controller", json.RawMessage(`{"name":"Nvme70"}`))
	var se *spdkrpc.Error
	if !errors.As(err, &se) || se.Code != spdkrpc.CodeMethodNotFound {
		t.Fatalf("detach of an unrelated controller = %v, want it forwarded to SPDK", err)
	}
}
