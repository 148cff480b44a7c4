package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// The agent's end-to-end behaviour, each test body run on the simulator
// and on a real spdk_tgt (the real-SPDK tier). Every assertion about
// safety reads SPDK's own state afterwards, not the agent's view of it.

// truth is SPDK's own account of the node, read straight from SPDK.
type truth struct {
	// chains maps each lvol's alias to its ancestry, parent first: lvol
	// aliases up to the root, then the external bdev's name for an esnap
	// chain.
	chains   map[string][]string
	lvstores []string // "name uuid base", sorted
}

// readTruth reads bdev_get_bdevs and bdev_lvol_get_lvstores from SPDK.
func (n *node) readTruth(t testing.TB) truth {
	t.Helper()
	ctx := context.Background()
	bdevs, err := n.spdk.GetBdevs(ctx, spdkrpc.GetBdevsParams{})
	if err != nil {
		t.Fatalf("bdev_get_bdevs: %v", err)
	}
	stores, err := n.spdk.GetLvstores(ctx, spdkrpc.LvstoreID{})
	if err != nil {
		t.Fatalf("bdev_lvol_get_lvstores: %v", err)
	}
	tr := truth{chains: map[string][]string{}}
	storeName := map[spdkrpc.LvstoreUUID]string{}
	for _, s := range stores {
		storeName[s.UUID] = string(s.Name)
		tr.lvstores = append(tr.lvstores, fmt.Sprintf("%s %s %s", s.Name, s.UUID, s.BaseBdev))
	}
	slices.Sort(tr.lvstores)
	byUUID := map[spdkrpc.BdevUUID]spdkrpc.Bdev{}
	parent := map[string]string{} // alias -> parent alias or bdev name
	for _, b := range bdevs {
		byUUID[b.UUID] = b
	}
	for _, b := range bdevs {
		l := b.DriverSpecific
		if l == nil || l.Lvol == nil || len(b.Aliases) == 0 {
			continue
		}
		alias := b.Aliases[0]
		tr.chains[alias] = nil
		switch {
		case l.Lvol.BaseSnapshot != "":
			parent[alias] = storeName[l.Lvol.LvolStoreUUID] + "/" + string(l.Lvol.BaseSnapshot)
		case l.Lvol.EsnapClone:
			if p, ok := byUUID[l.Lvol.ExternalSnapshotName]; ok && len(p.Aliases) > 0 && p.DriverSpecific != nil && p.DriverSpecific.Lvol != nil {
				parent[alias] = p.Aliases[0]
			} else if ok {
				parent[alias] = string(p.Name)
			} else {
				parent[alias] = "missing:" + string(l.Lvol.ExternalSnapshotName)
			}
		}
	}
	for alias := range tr.chains {
		var chain []string
		for p, ok := parent[alias]; ok && len(chain) < 256; p, ok = parent[p] {
			chain = append(chain, p)
		}
		tr.chains[alias] = chain
	}
	return tr
}

// requireUnchanged fails the test when any lvol's chain or any lvstore
// differs from before, except the lvols named in changed (the call's own
// volume), and when a real target died.
func (n *node) requireUnchanged(t testing.TB, before truth, changed ...string) {
	t.Helper()
	if n.tgt != nil {
		n.tgt.RequireAlive(t)
	}
	after := n.readTruth(t)
	if !slices.Equal(before.lvstores, after.lvstores) {
		t.Errorf("lvstores changed:\n before %v\n after  %v", before.lvstores, after.lvstores)
	}
	for _, alias := range slices.Sorted(maps.Keys(before.chains)) {
		if slices.Contains(changed, alias) {
			continue
		}
		got, ok := after.chains[alias]
		if !ok {
			t.Errorf("%s is gone", alias)
			continue
		}
		if want := before.chains[alias]; !slices.Equal(got, want) {
			t.Errorf("%s's chain changed: %v -> %v", alias, want, got)
		}
	}
}

func TestRealAndSim_guardRefusesOnTheDemoNode(t *testing.T) {
	backends(t, guardRefusesOnTheDemoNode)
}

func guardRefusesOnTheDemoNode(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{allowSelf: true, real: real})
	ctx := context.Background()
	before := n.readTruth(t)
	// Each of these would, on a real spdk_tgt, merge a backing image into
	// one volume, destroy an lvstore, or hang and later crash the target.
	attacks := []struct{ name, method, rule, params string }{
		{"shared backing image", "bdev_lvol_delete", "backing-image", `{"name":"` + n.demo.SharedImage + `"}`},
		{"single-clone backing image", "bdev_lvol_delete", "backing-image", `{"name":"` + n.demo.SingleCloneImage + `"}`},
		{"snapshot with a clone", "bdev_lvol_delete", "has-dependents", `{"name":"lvs-malloc/r-1-snap-daily1"}`},
		{"lvstore holding lvols", "bdev_lvol_delete_lvstore", "lvstore-not-empty", `{"lvs_name":"` + spdksim.DemoAioLvstore + `"}`},
		{"lvstore base bdev", "bdev_malloc_delete", "lvstore-base", `{"name":"` + spdksim.DemoMallocBdev + `"}`},
		{"aio lvstore base bdev", "bdev_aio_delete", "lvstore-base", `{"name":"` + spdksim.DemoAioBdev + `"}`},
		{"base of an esnap clone", "bdev_malloc_delete", "backing-image", `{"name":"` + spdksim.DemoExternalImage + `"}`},
		{"esnap clone onto a claimed bdev", "bdev_lvol_clone_bdev", ruleClaimedEsnapBase, `{"bdev":"` + spdksim.DemoMallocBdev + `","lvs_name":"` + spdksim.DemoAioLvstore + `","clone_name":"bad"}`},
	}
	for _, a := range attacks {
		_, err := n.via.CallRaw(ctx, a.method, []byte(a.params))
		var se *spdkrpc.Error
		if !errors.As(err, &se) || !strings.HasPrefix(se.Message, "Operation not permitted") {
			t.Errorf("%s: %s %s was not refused: %v", a.name, a.method, a.params, err)
			continue
		}
		if f, ok := refusalOf(se); !ok || f.Rule != a.rule {
			t.Errorf("%s: refused with %q, want rule %s", a.name, se.Message, a.rule)
		}
	}
	n.requireUnchanged(t, before)
}

func TestRealAndSim_cleanupApply(t *testing.T) { backends(t, cleanupApply) }

func cleanupApply(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{allowSelf: true, real: real})
	ctx := context.Background()
	before := n.readTruth(t)
	var rep CleanupReport
	if err := n.via.Call(ctx, "agent_apply_cleanup", map[string]any{"lvstore": "lvs-malloc", "replica": "r-10"}, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Stopped != nil {
		t.Fatalf("cleanup stopped: %+v", rep.Stopped)
	}
	mine := []string{"lvs-malloc/r-10", "lvs-malloc/r-10-snap-s1", "lvs-malloc/" + spdksim.DemoExpiredLvol}
	after := n.readTruth(t)
	for _, alias := range mine {
		if _, ok := after.chains[alias]; ok {
			t.Errorf("%s survived the cleanup", alias)
		}
	}
	if len(rep.Deleted) != len(mine) {
		t.Errorf("report deleted %d lvols, want %d: %+v", len(rep.Deleted), len(mine), rep.Deleted)
	}
	// The shared backing image and r-1's chain on it are untouched.
	n.requireUnchanged(t, before, mine...)
}

func TestRealAndSim_followDirectDelete(t *testing.T) { backends(t, followDirectDelete) }

// An lvol deleted straight on SPDK leaves the agent's graph through the
// notification alone.
func followDirectDelete(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{real: real})
	ctx := context.Background()
	before := n.status(t).Graph.Lvols
	if err := n.spdk.DeleteLvol(ctx, spdkrpc.LvolRef(n.demo.Orphan)); err != nil {
		t.Fatal(err)
	}
	n.waitFor(t, "the lvol gone from the graph", func(s Status) bool { return s.Graph.Lvols == before-1 })
	var d LvolDetail
	err := n.via.Call(ctx, "agent_get_lvol", map[string]string{"name": n.demo.Orphan}, &d)
	if !errors.Is(err, spdkrpc.ErrNotFound) {
		t.Fatalf("agent_get_lvol of the deleted lvol: %+v %v, want not found", d, err)
	}
}

func TestRealAndSim_iostatOfOneBdev(t *testing.T) { backends(t, iostatOfOneBdev) }

// The typed client's GetIostat of one bdev is answered by SPDK itself and
// through the agent: v26.05 takes a list of names, and rejects "name".
func iostatOfOneBdev(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{real: real})
	ctx := context.Background()
	name := spdkrpc.BdevRef(n.demo.Orphan)
	for _, c := range []struct {
		via    string
		client *spdkrpc.Client
	}{{"spdk", n.spdk}, {"agent", n.via}} {
		st, err := c.client.GetIostat(ctx, name)
		if err != nil {
			t.Fatalf("%s: GetIostat(%s): %v", c.via, name, err)
		}
		if len(st.Bdevs) != 1 {
			t.Fatalf("%s: GetIostat(%s): %d bdevs, want 1: %+v", c.via, name, len(st.Bdevs), st.Bdevs)
		}
		if _, err := c.client.GetIostat(ctx, "no-such-bdev"); !errors.Is(err, spdkrpc.ErrNotFound) {
			t.Fatalf("%s: GetIostat of a missing bdev: %v, want not found", c.via, err)
		}
	}
	var raw json.RawMessage
	err := n.spdk.Call(ctx, "bdev_get_iostat", map[string]string{"name": string(name)}, &raw)
	var se *spdkrpc.Error
	if !errors.As(err, &se) || se.Code != spdkrpc.CodeInternalError {
		t.Fatalf(`bdev_get_iostat {"name": ...}: %s %v, want SPDK's decode error`, raw, err)
	}
}
