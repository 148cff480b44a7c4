package lvolgraph

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// changedEntries returns the listing entries that differ between two
// renderings, and the bdev names that disappeared: what an agent that
// refreshes every changed object would feed Update.
func changedEntries(before, after Inputs) Update {
	var u Update
	oldL := map[spdkrpc.LvolUUID]spdkrpc.Lvol{}
	for _, l := range before.Lvols {
		oldL[l.UUID] = l
	}
	for _, l := range after.Lvols {
		if o, ok := oldL[l.UUID]; !ok || !reflect.DeepEqual(o, l) {
			u.Lvols = append(u.Lvols, l)
		}
	}
	oldB := map[spdkrpc.BdevName]spdkrpc.Bdev{}
	for _, b := range before.Bdevs {
		oldB[b.Name] = b
	}
	newB := map[spdkrpc.BdevName]bool{}
	for _, b := range after.Bdevs {
		newB[b.Name] = true
		if o, ok := oldB[b.Name]; !ok || !reflect.DeepEqual(o, b) {
			u.Bdevs = append(u.Bdevs, b)
		}
	}
	for _, b := range before.Bdevs {
		if !newB[b.Name] {
			u.RemovedBdevs = append(u.RemovedBdevs, b.Name)
		}
	}
	u.Lvstores = after.Lvstores
	return u
}

// sameGraph fails unless a and b hold the same lvstores, lvols, bdevs and anomalies.
func sameGraph(t *testing.T, a, b *Graph) {
	t.Helper()
	if !reflect.DeepEqual(a.Lvstores(), b.Lvstores()) {
		t.Fatalf("lvstores differ:\n%+v\n%+v", a.Lvstores(), b.Lvstores())
	}
	if a.Len() != b.Len() {
		t.Fatalf("lvol counts differ: %d, %d", a.Len(), b.Len())
	}
	for _, s := range a.Lvstores() {
		la, lb := a.Lvols(s.UUID), b.Lvols(s.UUID)
		if len(la) != len(lb) {
			t.Fatalf("lvstore %s: %v vs %v", s.Name, names(la), names(lb))
		}
		for i := range la {
			if !reflect.DeepEqual(*la[i], *lb[i]) {
				t.Fatalf("lvol differs:\n%+v\n%+v", *la[i], *lb[i])
			}
		}
	}
	if !reflect.DeepEqual(a.Bdevs(), b.Bdevs()) {
		t.Fatalf("bdevs differ")
	}
	if !reflect.DeepEqual(a.Anomalies(), b.Anomalies()) {
		t.Fatalf("anomalies differ:\n%v\n%v", a.Anomalies(), b.Anomalies())
	}
	if !reflect.DeepEqual(a.DependOnExternal(), b.DependOnExternal()) {
		t.Fatalf("esnap dependencies differ")
	}
}

// mutate applies one random SPDK operation to the scene.
func mutate(r *rand.Rand, s *scene, step int) {
	var live []*sceneLvol
	for _, u := range s.order {
		if l := s.lvols[u]; l != nil {
			live = append(live, l)
		}
	}
	name := fmt.Sprintf("v%d", step)
	switch op := r.IntN(6); {
	case op == 0 || len(live) == 0:
		s.add([]string{"lvs0", "lvs1"}[r.IntN(2)], name, false, "")
	case op == 1:
		l := live[r.IntN(len(live))]
		if !l.snapshot {
			s.snapshot(l.uuid, name)
		}
	case op == 2:
		l := live[r.IntN(len(live))]
		if l.snapshot {
			s.add(l.store.name, name, false, l.name)
		} else {
			s.esnap(l.store.name, name, spdkrpc.BdevUUID(l.uuid))
		}
	case op == 3:
		_ = s.delete(live[r.IntN(len(live))].uuid)
	case op == 4:
		l := live[r.IntN(len(live))]
		if !l.snapshot {
			s.rename(l.uuid, name)
		}
	default:
		l := live[r.IntN(len(live))]
		l.clusters++
	}
}

func TestUpdate_matchesBuild(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 7))
		s := newScene()
		s.store("lvs0")
		s.store("lvs1")
		before := s.inputs()
		g := Build(0, time.Time{}, before)
		for step := range 40 {
			mutate(r, s, step)
			after := s.inputs()
			u := changedEntries(before, after)
			next := g.Update(uint64(step+1), time.Time{}, u)
			sameGraph(t, next, Build(uint64(step+1), time.Time{}, after))
			d := Diff(g, next)
			var removed []string
			for _, l := range d.Removed {
				removed = append(removed, string(l.UUID))
			}
			if want := sortedStrings(u.RemovedBdevs); !slices.Equal(removed, want) && len(want) > 0 {
				// Removed lvol bdevs must show as removed lvols.
				for _, n := range want {
					if _, ok := g.Lvol(UUIDRef(n)); ok && !slices.Contains(removed, n) {
						t.Fatalf("seed %d step %d: Diff misses removed %s", seed, step, n)
					}
				}
			}
			g, before = next, after
		}
	}
}

func TestUpdate_partialRefreshIsNotTrusted(t *testing.T) {
	// A snapshot is taken of a head; only the new snapshot's bdev is
	// refreshed, so the head still claims no parent while the snapshot
	// lists it as a clone.
	s := newScene()
	head := s.add("lvs0", "r-1", false, "")
	g := s.graph()
	snap := s.snapshot(head.uuid, "r-1-snap-a")
	in := s.inputs()
	var u Update
	for _, b := range in.Bdevs {
		if b.Name == spdkrpc.BdevName(snap.uuid) {
			u.Bdevs = append(u.Bdevs, b)
		}
	}
	for _, l := range in.Lvols {
		if l.UUID == snap.uuid {
			u.Lvols = append(u.Lvols, l)
		}
	}
	g2 := g.Update(2, time.Time{}, u)
	lvs := s.store("lvs0").uuid
	if g2.Trustworthy(lvs) {
		t.Fatalf("partial refresh trusted; anomalies %v", g2.Anomalies())
	}
	if !g.Trustworthy(lvs) {
		t.Fatal("the old graph changed")
	}
	// Refreshing the head too settles it.
	g3 := g2.Update(3, time.Time{}, changedEntries(Inputs{Lvols: u.Lvols, Bdevs: u.Bdevs}, in))
	if !g3.Trustworthy(lvs) {
		t.Fatalf("anomalies after full refresh: %v", g3.Anomalies())
	}
	d := Diff(g, g3)
	if len(d.Added) != 1 || d.Added[0].UUID != snap.uuid || len(d.Reparented) != 1 || d.Reparented[0].Lvol.UUID != head.uuid {
		t.Errorf("diff = %+v", d)
	}
}

func TestUpdate_removalsAndLvstores(t *testing.T) {
	g := Build(1, time.Time{}, loadFixture(t, "transcript.json", nil))
	bi0, _ := g.Bdev("bi0")
	ec, _ := g.Lvol(ParseRef("lvs0/esnapclone1"))
	// The esnap base disappears (recorded 206/207): the clone is left
	// reading from nothing.
	g2 := g.Update(2, time.Time{}, Update{RemovedBdevs: []spdkrpc.BdevName{"bi0", "no-such-bdev"}})
	if _, ok := g2.Bdev("bi0"); ok {
		t.Fatal("bi0 still listed")
	}
	if g2.Trustworthy(ec.LvstoreUUID) {
		t.Fatal("lvstore trusted with an esnap clone whose base is gone")
	}
	if got := g2.EsnapClones(bi0.UUID); len(got) != 1 {
		t.Fatalf("esnap clones of the vanished bdev = %v", got)
	}
	if d := Diff(g, g2); !d.Empty() {
		t.Errorf("removing a non-lvol bdev changed lvols: %+v", d)
	}
	// Then the clone goes too, and the lvstore is trustworthy again.
	g3 := g2.Update(3, time.Time{}, Update{RemovedBdevs: []spdkrpc.BdevName{spdkrpc.BdevName(ec.UUID)}})
	if d := Diff(g2, g3); len(d.Removed) != 1 || d.Removed[0] != ec || len(d.Added)+len(d.Reparented)+len(d.Resized) != 0 {
		t.Errorf("diff after removing %s: %+v", ec.Alias, d)
	}
	if !g3.Trustworthy(ec.LvstoreUUID) {
		t.Fatalf("anomalies: %v", g3.Anomalies())
	}
	// The lvstore is renamed.
	lvs, _ := g.Lvstore(ParseRef("lvs0"))
	renamed := spdkrpc.Lvstore{UUID: lvs.UUID, Name: "lvsX", BaseBdev: lvs.BaseBdev, ClusterSize: lvs.ClusterSize, BlockSize: lvs.BlockSize}
	g4 := g3.Update(4, time.Time{}, Update{Lvstores: []spdkrpc.Lvstore{renamed}})
	if _, ok := g4.Lvol(ParseRef("lvsX/vol1")); !ok {
		t.Error("lvol not found under the new lvstore name")
	}
	if _, ok := g4.Lvol(ParseRef("lvs0/vol1")); ok {
		t.Error("lvol still found under the old lvstore name")
	}
	// A removed lvstore stays, unlisted, while it holds lvols.
	g5 := g4.Update(5, time.Time{}, Update{RemovedLvstores: []spdkrpc.LvstoreUUID{lvs.UUID}})
	if s, ok := g5.Lvstore(UUIDRef(lvs.UUID)); !ok || s.Listed || g5.Trustworthy(lvs.UUID) {
		t.Fatalf("removed lvstore: %+v %v", s, ok)
	}
	var all []spdkrpc.BdevName
	for _, l := range g5.Lvols(lvs.UUID) {
		all = append(all, spdkrpc.BdevName(l.UUID))
	}
	g6 := g5.Update(6, time.Time{}, Update{RemovedBdevs: all})
	if _, ok := g6.Lvstore(UUIDRef(lvs.UUID)); ok || g6.Len() != 0 {
		t.Fatalf("empty removed lvstore still there (%d lvols)", g6.Len())
	}
}
