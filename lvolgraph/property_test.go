package lvolgraph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

var replicaNames = []string{"r-1", "r-10", "r-100", "pvc-a-r-1", "pvc-a-r-10", "pvc-a", "x"}

// randomScene makes lvstores with backing images shared by several
// volumes, replica chains on them, on malloc esnap bases and on lvols of
// other lvstores, clones of other replicas' snapshots, and odd leftovers.
func randomScene(r *rand.Rand) *scene {
	s := newScene()
	stores := []string{"lvs0", "lvs1"}[:1+r.IntN(2)]
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	mallocs := []spdkrpc.BdevUUID{s.malloc("img0"), s.malloc("img1")}
	var bis []*sceneLvol
	for i := range r.IntN(3) {
		st := pick(stores)
		bis = append(bis, s.add(st, fmt.Sprintf("bi-img%d-disk-%s", i, s.store(st).uuid), true, ""))
	}
	var snaps []*sceneLvol // every snapshot, for clones across replicas
	for _, rep := range replicaNames {
		if r.IntN(4) == 0 {
			continue
		}
		st := pick(stores)
		var parent *sceneLvol
		var ext spdkrpc.BdevUUID
		switch r.IntN(5) {
		case 0:
			if len(bis) > 0 {
				if bi := bis[r.IntN(len(bis))]; bi.store.name == st {
					parent = bi
				} else {
					ext = spdkrpc.BdevUUID(bi.uuid)
				}
			}
		case 1:
			ext = mallocs[r.IntN(len(mallocs))]
		case 2:
			if len(snaps) > 0 {
				if sn := snaps[r.IntN(len(snaps))]; sn.store.name == st {
					parent = sn
				}
			}
		}
		head := s.add(st, rep, false, "")
		if parent != nil {
			head.parent = parent.uuid
		}
		head.ext = ext
		for j := range r.IntN(4) {
			snaps = append(snaps, s.snapshot(head.uuid, fmt.Sprintf("%s-snap-s%d", rep, j)))
		}
		if r.IntN(3) == 0 {
			s.add(st, rep+"-rebuilding", false, "")
		}
		if r.IntN(4) == 0 {
			s.add(st, rep+"-expired-0af3", false, "")
		}
		if n := len(snaps); n > 0 && r.IntN(3) == 0 && snaps[n-1].store.name == st {
			s.add(st, rep+"-clone-ep-s0", false, snaps[n-1].name)
		}
	}
	return s
}

// structuralBackingImages returns the lvols that other owners' lvols read
// from, directly or not, and the external snapshots of esnap clones.
func structuralBackingImages(s *scene, replica string) map[spdkrpc.LvolUUID]bool {
	out := map[spdkrpc.LvolUUID]bool{}
	for u, l := range s.lvols {
		if l.ext != "" {
			out[spdkrpc.LvolUUID(l.ext)] = true
		}
		if DefaultOwnership.Owns(replica, spdkrpc.LvolName(l.name)) {
			continue
		}
		for _, a := range s.ancestors(u) {
			out[a] = true
		}
	}
	return out
}

func TestPlanCleanup_property(t *testing.T) {
	trials := 3000
	if testing.Short() {
		trials = 300
	}
	deleted, refused := 0, 0
	for seed := range uint64(trials) {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		s := randomScene(r)
		in := s.inputs()
		mangled := r.IntN(8) == 0
		if mangled {
			mangle(r, &in)
		}
		g := Build(seed, testTime, in)
		replica := replicaNames[r.IntN(len(replicaNames))]
		var own Ownership = DefaultOwnership
		if r.IntN(3) == 0 {
			own = greedyOwnership{}
		}
		lvs := s.stores[r.IntN(len(s.stores))]
		var keep []Ref
		for _, u := range s.order {
			if l := s.lvols[u]; l.store == lvs && r.IntN(8) == 0 {
				keep = append(keep, NameRef(l.name))
			}
		}
		p, err := PlanCleanup(g, CleanupRequest{Lvstore: ParseRef(lvs.name), Replica: replica, Keep: keep, Ownership: own})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		deleted += len(p.Delete)
		refused += len(p.Refused)
		checkPlan(t, seed, s, g, p, own, keep, mangled)
	}
	if deleted == 0 || refused == 0 {
		t.Fatalf("the generator never exercised the planner: %d deletions, %d refusals", deleted, refused)
	}
	t.Logf("%d trials: %d deletions, %d refusals", trials, deleted, refused)
}

func checkPlan(t *testing.T, seed uint64, s *scene, g *Graph, p Plan, own Ownership, keep []Ref, mangled bool) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d, replica %s: %s\nplan %v\nrefused %+v", seed, p.Replica, fmt.Sprintf(format, args...), planNames(p), p.Refused)
	}
	if mangled && !g.Trustworthy(p.Lvstore) && len(p.Delete) > 0 {
		fail("plan on an untrustworthy lvstore")
	}
	planned := map[spdkrpc.LvolUUID]bool{}
	for _, st := range p.Delete {
		planned[st.UUID] = true
	}
	backing := structuralBackingImages(s, p.Replica)
	protected := map[spdkrpc.LvolUUID]bool{}
	for _, k := range keep {
		l, _ := g.LvolIn(p.Lvstore, k)
		protected[l.UUID] = true
		for _, a := range s.ancestors(l.UUID) {
			protected[a] = true
		}
	}
	for u := range planned {
		l := s.lvols[u]
		switch {
		case l == nil:
			fail("plans an lvol that does not exist: %s", u)
		case backing[u]:
			fail("plans structural backing image %s", l.name)
		case DefaultOwnership.BackingImage(spdkrpc.LvolName(l.name)) && own == DefaultOwnership:
			fail("plans backing image %s", l.name)
		case !own.Owns(p.Replica, spdkrpc.LvolName(l.name)):
			fail("plans %s, not owned", l.name)
		case protected[u]:
			fail("plans kept %s or an ancestor of a kept lvol", l.name)
		}
	}
	chains := map[spdkrpc.LvolUUID][]spdkrpc.LvolUUID{}
	for u := range s.lvols {
		if !planned[u] {
			chains[u] = s.ancestors(u)
		}
	}
	for _, st := range p.Delete {
		if n := len(s.clones(st.UUID)); n > 0 {
			fail("step %s has %d clones when it runs", st.Alias, n)
		}
		if err := s.delete(st.UUID); err != nil {
			fail("step %s: SPDK says %v", st.Alias, err)
		}
	}
	for u, before := range chains {
		if after := s.ancestors(u); !slices.Equal(before, after) {
			fail("chain of %s changed: %v -> %v", s.lvols[u].name, before, after)
		}
	}
}

// mangle damages listings the ways SPDK's answers can disagree.
func mangle(r *rand.Rand, in *Inputs) {
	switch r.IntN(4) {
	case 0:
		if len(in.Bdevs) > 0 {
			i := r.IntN(len(in.Bdevs))
			in.Bdevs = slices.Delete(in.Bdevs, i, i+1)
		}
	case 1:
		if len(in.Lvols) > 0 {
			i := r.IntN(len(in.Lvols))
			in.Lvols = slices.Delete(in.Lvols, i, i+1)
		}
	case 2:
		for i := range in.Bdevs {
			if info, ok := in.Bdevs[i].LvolInfo(); ok && len(info.Clones) > 0 {
				info.Clones = info.Clones[1:]
				break
			}
		}
	default:
		if len(in.Lvols) > 0 {
			in.Lvols[r.IntN(len(in.Lvols))].IsDegraded = true
		}
	}
}
