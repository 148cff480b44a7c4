package agent

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// TestGuard_seesEsnapCloneMadeStraightOnSPDK: an esnap clone of an lvol,
// made on SPDK's own socket a moment before a delete of that lvol reaches
// the agent, is known only through SPDK's announcement of it: the parent's
// bdev does not list its esnap clones. The guard's fresh read must take in
// what SPDK announced so far, or it allows the delete, and SPDK hangs on it
// and crashes on the clone's delete later. Notifications are polled once an
// hour here, so only the guard's own read can find the clone.
func TestGuard_seesEsnapCloneMadeStraightOnSPDK(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true, edit: func(c *Config) { c.NotifyInterval = time.Hour }})
	ctx := context.Background()
	var orphan []struct {
		Name string `json:"name"`
	}
	raw, err := n.spdk.CallRaw(ctx, "bdev_get_bdevs", params("name", n.demo.Orphan))
	if err != nil || json.Unmarshal(raw, &orphan) != nil || len(orphan) != 1 {
		t.Fatalf("reading the orphan: %v %s", err, raw)
	}
	if _, err := n.spdk.CallRaw(ctx, "bdev_lvol_clone_bdev",
		params("bdev", orphan[0].Name, "lvs_name", spdksim.DemoMallocLvstore, "clone_name", "reads-the-orphan")); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = n.via.CallRaw(cctx, "bdev_lvol_delete", params("name", n.demo.Orphan))
	refusedWith(t, err, "backing-image")
}
