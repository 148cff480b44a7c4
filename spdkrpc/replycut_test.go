package spdkrpc_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// A listing too large for SPDK's send buffer fails with ErrReplyTooLarge,
// at once and not at a deadline, and the client reconnects: smaller calls
// go on working. The simulator cuts as SPDK does, at a cap lowered here so
// that a hundred lvols reach it.
func TestSim_replyCutBySendBuffer(t *testing.T) {
	const max = 64 << 10
	opts := fastSim
	opts.MaxReply = max
	_, path := startSim(t, opts)
	c := dialMini(t, path, spdkrpc.Options{MaxReply: max})
	ctx := context.Background()
	base := must[spdkrpc.BdevName](t, "malloc")(c.MallocCreate(ctx, spdkrpc.MallocCreateParams{Name: "Malloc0", NumBlocks: 262144, BlockSize: 4096}))
	lvs := must[spdkrpc.LvstoreUUID](t, "lvstore")(c.CreateLvstore(ctx, spdkrpc.CreateLvstoreParams{BdevName: base, LvsName: "lvs0"}))
	for i := range 100 {
		if _, err := c.CreateLvol(ctx, spdkrpc.CreateLvolParams{Lvs: spdkrpc.LvsByUUID(lvs), Name: spdkrpc.LvolName(fmt.Sprintf("v%03d", i)), SizeMiB: 4, ThinProvision: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.GetBdevs(ctx, spdkrpc.GetBdevsParams{})
	if !errors.Is(err, spdkrpc.ErrReplyTooLarge) || !errors.Is(err, spdkrpc.ErrDisconnected) {
		t.Fatalf("bdev_get_bdevs of 100 lvols with a %d-byte cap: %v, want ErrReplyTooLarge", max, err)
	}
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	lvols, err := c.GetLvols(ctx, spdkrpc.LvsByUUID(lvs))
	if err != nil || len(lvols) != 100 {
		t.Fatalf("after the cut, bdev_lvol_get_lvols: %d lvols, %v", len(lvols), err)
	}
	one, err := c.GetBdevs(ctx, spdkrpc.GetBdevsParams{Name: "lvs0/v042"})
	if err != nil || len(one) != 1 {
		t.Fatalf("after the cut, one bdev: %v, %v", one, err)
	}
}
