package agent

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sync"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// raceTries is how many rounds TestRealAndSim_soleGatewayRaces runs; the
// issue's figure is 1,000 on a real target (-race-tries 1000).
var raceTries = flag.Int("race-tries", 20, "rounds of TestRealAndSim_soleGatewayRaces")

// In sole-gateway mode every caller goes through the agent. Each round
// builds a snapshot no one reads from, then races, from separate
// connections, its delete against a clone of it and a set_parent onto it,
// and an lvstore's delete against an lvol created in it. SPDK's own state
// afterwards must agree with the answers: a clone that was made still has
// its snapshot (a merge would have taken it), a delete that succeeded left
// nothing that needed what it deleted, and no lvol that was created
// disappeared with its lvstore.
func TestRealAndSim_soleGatewayRaces(t *testing.T) { backends(t, soleGatewayRaces) }

func soleGatewayRaces(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{allowSelf: true, real: real, noDemo: true})
	ctx := context.Background()
	clients := make([]*spdkrpc.Client, 4)
	for i := range clients {
		c, err := spdkrpc.Dial(ctx, n.cfg.RPCSocket, spdkrpc.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	must := func(method string, params string) json.RawMessage {
		t.Helper()
		res, err := n.via.CallRaw(ctx, method, json.RawMessage(params))
		if err != nil {
			t.Fatalf("%s %s: %v", method, params, err)
		}
		return res
	}
	must("bdev_malloc_create", `{"name":"race0","num_blocks":32768,"block_size":4096}`)
	must("bdev_lvol_create_lvstore", `{"bdev_name":"race0","lvs_name":"lvsR","cluster_sz":1048576}`)
	var merges, lost, both int
	for i := range *raceTries {
		must("bdev_lvol_create", fmt.Sprintf(`{"lvs_name":"lvsR","lvol_name":"v%d","size_in_mib":4,"thin_provision":true}`, i))
		must("bdev_lvol_snapshot", fmt.Sprintf(`{"lvol_name":"lvsR/v%d","snapshot_name":"s%d"}`, i, i))
		must("bdev_lvol_delete", fmt.Sprintf(`{"name":"lvsR/v%d"}`, i)) // s%d now has no clone
		must("bdev_lvol_create", fmt.Sprintf(`{"lvs_name":"lvsR","lvol_name":"w%d","size_in_mib":4,"thin_provision":true}`, i))
		// A second, empty lvstore on a split of nothing: a malloc of its own.
		must("bdev_malloc_create", fmt.Sprintf(`{"name":"rb%d","num_blocks":4096,"block_size":4096}`, i))
		must("bdev_lvol_create_lvstore", fmt.Sprintf(`{"bdev_name":"rb%d","lvs_name":"lvsE%d","cluster_sz":1048576}`, i, i))

		calls := []struct{ method, params string }{
			{"bdev_lvol_delete", fmt.Sprintf(`{"name":"lvsR/s%d"}`, i)},
			{"bdev_lvol_clone", fmt.Sprintf(`{"snapshot_name":"lvsR/s%d","clone_name":"c%d"}`, i, i)},
			{"bdev_lvol_set_parent", fmt.Sprintf(`{"lvol_name":"lvsR/w%d","parent_name":"lvsR/s%d"}`, i, i)},
			{"bdev_lvol_delete_lvstore", fmt.Sprintf(`{"lvs_name":"lvsE%d"}`, i)},
			{"bdev_lvol_create", fmt.Sprintf(`{"lvs_name":"lvsE%d","lvol_name":"x%d","size_in_mib":1}`, i, i)},
		}
		errs := make([]error, len(calls))
		var start, wg sync.WaitGroup
		start.Add(1)
		for k, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				_, errs[k] = clients[k%len(clients)].CallRaw(ctx, c.method, json.RawMessage(c.params))
			}()
		}
		start.Done()
		wg.Wait()
		for k, err := range errs {
			var se *spdkrpc.Error
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("round %d: %s: not an SPDK-style answer: %v", i, calls[k].method, err)
			}
		}
		// SPDK's truth.
		sGone := !n.lvolExists(t, fmt.Sprintf("lvsR/s%d", i))
		cloneMade, parentSet := errs[1] == nil, errs[2] == nil
		if errs[0] == nil && (cloneMade || parentSet) {
			both++
		}
		for _, dep := range []struct {
			made  bool
			alias string
		}{{cloneMade, fmt.Sprintf("lvsR/c%d", i)}, {parentSet, fmt.Sprintf("lvsR/w%d", i)}} {
			if !dep.made {
				continue
			}
			bs, err := n.spdk.GetBdevs(ctx, spdkrpc.GetBdevsParams{Name: spdkrpc.BdevRef(dep.alias)})
			if err != nil || len(bs) != 1 || bs[0].DriverSpecific == nil || bs[0].DriverSpecific.Lvol == nil {
				lost++
				t.Errorf("round %d: %s was made but SPDK no longer lists it: %v", i, dep.alias, err)
				continue
			}
			if got := bs[0].DriverSpecific.Lvol.BaseSnapshot; sGone || string(got) != fmt.Sprintf("s%d", i) {
				merges++
				t.Errorf("round %d: %s was made on s%d but its parent is now %q (snapshot gone: %v)", i, dep.alias, i, got, sGone)
			}
		}
		if errs[4] == nil && !n.lvolExists(t, fmt.Sprintf("lvsE%d/x%d", i, i)) {
			lost++
			t.Errorf("round %d: x%d was created, then lost with its lvstore", i, i)
		}
		// Leave nothing behind for the next round.
		for _, alias := range []string{fmt.Sprintf("lvsR/c%d", i), fmt.Sprintf("lvsR/w%d", i), fmt.Sprintf("lvsR/s%d", i), fmt.Sprintf("lvsE%d/x%d", i, i)} {
			if _, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", alias)); err != nil && !errors.Is(err, spdkrpc.ErrNotFound) {
				t.Fatalf("round %d: cleanup of %s: %v", i, alias, err)
			}
		}
		if _, err := n.via.CallRaw(ctx, "bdev_lvol_delete_lvstore", params("lvs_name", fmt.Sprintf("lvsE%d", i))); err != nil && !errors.Is(err, spdkrpc.ErrNotFound) {
			t.Fatalf("round %d: cleanup of lvsE%d: %v", i, i, err)
		}
		must("bdev_malloc_delete", fmt.Sprintf(`{"name":"rb%d"}`, i))
	}
	t.Logf("%d rounds: %d merges, %d lost lvols, %d rounds where a delete and a dependent both succeeded", *raceTries, merges, lost, both)
	if real {
		n.tgt.RequireAlive(t)
	}
}
