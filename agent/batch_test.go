package agent

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// queued waits until k removals wait for a round.
func queued(t *testing.T, a *Agent, k int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		a.removals.mu.Lock()
		n := len(a.removals.pending)
		a.removals.mu.Unlock()
		if n >= k {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d removals queued, want %d", n, k)
		}
	}
}

// Deletes that queue together are decided on one read, in order: a
// snapshot queued behind the delete of its only clone is decided again
// once the clone is gone, as if the two had run one after the other; a
// snapshot queued ahead of it is refused, as it would be alone.
func TestRemovalRounds_decideInOrder(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true, noDemo: true})
	ctx := context.Background()
	for _, c := range []struct{ method, params string }{
		{"bdev_malloc_create", `{"name":"rr0","num_blocks":8192,"block_size":4096}`},
		{"bdev_lvol_create_lvstore", `{"bdev_name":"rr0","lvs_name":"lvsQ"}`},
		{"bdev_lvol_create", `{"lvs_name":"lvsQ","lvol_name":"c","size_in_mib":4,"thin_provision":true}`},
		{"bdev_lvol_snapshot", `{"lvol_name":"lvsQ/c","snapshot_name":"s"}`},
		{"bdev_lvol_create", `{"lvs_name":"lvsQ","lvol_name":"leaf","size_in_mib":4,"thin_provision":true}`},
		{"bdev_lvol_create", `{"lvs_name":"lvsQ","lvol_name":"c2","size_in_mib":4,"thin_provision":true}`},
		{"bdev_lvol_snapshot", `{"lvol_name":"lvsQ/c2","snapshot_name":"s2"}`},
	} {
		if _, err := n.via.CallRaw(ctx, c.method, json.RawMessage(c.params)); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
	}
	unlock, err := n.agent.gate.lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var results [5]error
	order := []string{"lvsQ/c", "lvsQ/s", "lvsQ/leaf", "lvsQ/s2", "lvsQ/c2"}
	done := make([]chan error, len(order))
	for i, name := range order {
		done[i] = make(chan error, 1)
		go func() { _, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", name)); done[i] <- err }()
		queued(t, n.agent, i+1)
	}
	unlock()
	for i := range order {
		results[i] = <-done[i]
	}
	for i, name := range order {
		wantRefused := name == "lvsQ/s2" // queued ahead of its clone's delete
		if _, refused := refusalOf(results[i]); refused != wantRefused || !refused && results[i] != nil {
			t.Errorf("delete %s: %v, want refused %v", name, results[i], wantRefused)
		}
	}
	for _, name := range []string{"lvsQ/c", "lvsQ/s", "lvsQ/leaf", "lvsQ/c2"} {
		if n.lvolExists(t, name) {
			t.Errorf("%s is still there", name)
		}
	}
	if !n.lvolExists(t, "lvsQ/s2") {
		t.Error("s2 was deleted although its clone was deleted after it")
	}
}
