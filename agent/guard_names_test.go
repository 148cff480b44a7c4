package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// lvstoreWithClone makes, straight on SPDK, lvstore lvs on a new malloc
// bdev holding snapshot s and its only clone v, and waits until the agent
// sees it.
func lvstoreWithClone(t *testing.T, n *node, bdev, lvs string) {
	t.Helper()
	ctx := context.Background()
	st := n.status(t).Graph
	before, lvols := st.Lvstores, st.Lvols
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for _, s := range []struct{ m, p string }{
		{"bdev_malloc_create", `{"name":` + q(bdev) + `,"num_blocks":16384,"block_size":4096}`},
		{"bdev_lvol_create_lvstore", `{"bdev_name":` + q(bdev) + `,"lvs_name":` + q(lvs) + `}`},
		{"bdev_lvol_create", `{"lvs_name":` + q(lvs) + `,"lvol_name":"v","size_in_mib":4,"thin_provision":true}`},
		{"bdev_lvol_snapshot", `{"lvol_name":` + q(lvs+"/v") + `,"snapshot_name":"s"}`},
	} {
		if _, err := n.spdk.CallRaw(ctx, s.m, json.RawMessage(s.p)); err != nil {
			t.Fatalf("%s: %v", s.m, err)
		}
	}
	// The lvstore and both its lvols: a sync may read the lvstore before
	// the lvols are made.
	n.waitFor(t, "the new lvstore and its lvols", func(s Status) bool {
		return s.Graph.Lvstores == before+1 && s.Graph.Lvols == lvols+2 && s.Graph.Complete
	})
}

// TestGuard_lvstoreNamesSPDKAccepts: SPDK takes any lvstore name, one with
// a '/' or one shaped like a UUID included. Each way of naming such an
// lvstore or its lvols must reach the graph's rules, not "unknown, let SPDK
// answer": SPDK would delete the lvstore with its lvols, or merge the
// snapshot into its clone.
func TestGuard_lvstoreNamesSPDKAccepts(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	for _, tt := range []struct{ bdev, lvs string }{
		{"M8", "a/b"},
		{"M9", "0a1b2c3d-0000-4000-8000-00000000abcd"},
	} {
		t.Run(tt.lvs, func(t *testing.T) {
			lvstoreWithClone(t, n, tt.bdev, tt.lvs)
			_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", tt.lvs+"/s"))
			refusedWith(t, err, "has-dependents")
			_, err = n.via.CallRaw(ctx, "bdev_lvol_delete_lvstore", params("lvs_name", tt.lvs))
			refusedWith(t, err, "lvstore-not-empty")
			_, err = n.via.CallRaw(ctx, "bdev_malloc_delete", params("name", tt.bdev))
			refusedWith(t, err, "lvstore-base")
			if !n.lvolExists(t, tt.lvs+"/s") || !n.lvolExists(t, tt.lvs+"/v") {
				t.Fatal("a refused call deleted an lvol")
			}
		})
	}
}

// TestGuard_paramsSPDKMayReadOtherwise: Go's decoder takes the last of
// two equal keys and matches keys without regard to case; SPDK's decoder
// matches exactly, and whether it takes the first or refuses a key given
// twice is not Go's business. A guarded call whose params two decoders may
// read differently is refused before the guard judges a target SPDK might
// not act on.
func TestGuard_paramsSPDKMayReadOtherwise(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	bi := n.demo.SharedImage
	for _, tt := range []struct {
		params string
		code   int // the guard's answer: invalid params naming the key, or a refusal
	}{
		{`{"name":"` + bi + `","name":"lvs-aio/nope"}`, spdkrpc.CodeInvalidParams},
		{`{"name":"` + bi + `","na\u006de":"lvs-aio/nope"}`, spdkrpc.CodeInvalidParams},
		// Only the exact key counts, as in SPDK (which refuses the other).
		{`{"name":"` + bi + `","NAME":"lvs-aio/nope"}`, -1},
	} {
		_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", json.RawMessage(tt.params))
		var se *spdkrpc.Error
		if !errors.As(err, &se) || se.Code != tt.code || se.Code == spdkrpc.CodeInvalidParams && !strings.Contains(se.Message, `"name"`) {
			t.Errorf("delete with params %s = %v, want code %d naming the key", tt.params, err, tt.code)
		}
	}
	if !n.lvolExists(t, bi) {
		t.Fatal("the backing image was deleted")
	}
	// Plain params still pass.
	if _, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan)); err != nil {
		t.Fatalf("deleting the orphan: %v", err)
	}
}

// TestGuard_targetSPDKResolvesButGraphDoesNot: SPDK parses an lvstore UUID
// before comparing it, so capitals name the same lvstore; the graph keys
// lvstores by the UUID as SPDK prints it. A target the graph cannot resolve
// must be resolved by SPDK before it is let through as "unknown": SPDK
// deleted the whole lvstore.
func TestGuard_targetSPDKResolvesButGraphDoesNot(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	upper := strings.ToUpper(n.demo.AioLvstoreUUID)
	_, err := n.via.CallRaw(ctx, "bdev_lvol_delete_lvstore", params("uuid", upper))
	refusedWith(t, err, "lvstore-not-empty")
	if !n.lvolExists(t, n.demo.Orphan) {
		t.Fatal("the lvstore was deleted with its lvols")
	}
	// What SPDK does not know either is still SPDK's to answer.
	_, err = n.via.CallRaw(ctx, "bdev_lvol_delete_lvstore", params("uuid", strings.ToUpper("0a1b2c3d-0000-4000-8000-00000000abcd")))
	var se *spdkrpc.Error
	if !errors.As(err, &se) || se.Code != -19 {
		t.Fatalf("delete of an unknown lvstore = %v, want SPDK's -19", err)
	}
}

// TestAgentMethods_lvstoreNamedOddly: the agent_* methods that take "an
// lvstore name or UUID" resolve it explicitly, as the guard does, rather
// than by the string's shape; a string that is one lvstore's name and
// another's UUID is refused as ambiguous rather than guessed.
func TestAgentMethods_lvstoreNamedOddly(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true, noDemo: true})
	ctx := context.Background()
	lvstoreWithClone(t, n, "M1", "a/b")
	var plan PlanReply
	if err := n.via.Call(ctx, "agent_plan_cleanup", map[string]string{"lvstore": "a/b", "replica": "v"}, &plan); err != nil {
		t.Fatalf("plan in lvstore a/b: %v", err)
	}
	if len(plan.Delete) != 1 || plan.Delete[0].Alias != "a/b/v" {
		t.Errorf("plan for replica v in a/b deletes %+v, want only a/b/v", plan.Delete)
	}
	var lvols LvolsReply
	if err := n.via.Call(ctx, "agent_get_lvols", map[string]string{"lvstore": "a/b"}, &lvols); err != nil || len(lvols.Lvols) != 2 {
		t.Fatalf("lvols of a/b: %v, %d lvols, want 2", err, len(lvols.Lvols))
	}

	// An lvstore named like the first one's UUID.
	u := string(n.agent.Current().Graph.Lvstores()[0].UUID)
	lvstoreWithClone(t, n, "M2", u)
	err := n.via.Call(ctx, "agent_get_lvols", map[string]string{"lvstore": u}, &lvols)
	var se *spdkrpc.Error
	if !errors.As(err, &se) || se.Code != -22 || !strings.Contains(se.Message, "name of lvstore") {
		t.Fatalf("lvols of the ambiguous %q: %v, want -22 naming the ambiguity", u, err)
	}
}
