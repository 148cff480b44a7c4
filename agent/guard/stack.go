package guard

import (
	"fmt"
	"sort"
	"strings"
)

// Obj names one object of the node's dependency graph: a bdev (by name),
// an lvol (by UUID; an lvol's bdev is the same object) or an lvstore (by
// UUID). Uncertain marks and locks are kept by Obj.
type Obj string

// Objects of the dependency graph.
func bdevObj(name string) Obj  { return Obj("bdev:" + name) }
func lvolObj(uuid string) Obj  { return Obj("lvol:" + strings.ToLower(uuid)) }
func storeObj(uuid string) Obj { return Obj("lvs:" + strings.ToLower(uuid)) }
func claimObj(b *Bdev) Obj     { return Obj("claim:" + b.Name) }

func (s *State) objOf(b *Bdev) Obj {
	if b.lvol != nil {
		return lvolObj(b.Name)
	}
	return bdevObj(b.Name)
}

// link builds the "stands on" edges of the whole stack:
//   - an lvstore on its base bdev (an lvol of another lvstore, a split, a
//     raid, a passthru, a malloc ...);
//   - an lvol on its lvstore;
//   - a clone on its snapshot, from both sides (the clone's base_snapshot
//     and the snapshot's clones, so a degraded clone is still seen);
//   - an esnap clone on its external bdev;
//   - a stacked bdev (split, passthru, raid member, delay, ...) on its base;
//   - a claimed bdev none of the above explains on an unknown claimant.
func (s *State) link() {
	add := func(base, dependent Obj) {
		for _, d := range s.deps[base] {
			if d == dependent {
				return
			}
		}
		s.deps[base] = append(s.deps[base], dependent)
	}
	for _, st := range s.stores {
		if b, ok := s.BdevByName(st.BaseBdev); ok {
			add(s.objOf(b), storeObj(st.UUID))
		} else {
			s.issue(st.UUID, fmt.Sprintf("base bdev %s of lvstore %s is not listed", st.BaseBdev, st.Name))
		}
	}
	for _, l := range s.lvols {
		add(storeObj(l.Lvs.UUID), lvolObj(l.UUID))
		if l.bdev == nil {
			k := strings.ToLower(l.Lvs.UUID)
			s.degraded[k] = append(s.degraded[k], l.Lvs.Name+"/"+l.Name)
		}
		if _, ok := s.LvstoreByUUID(l.Lvs.UUID); !ok {
			s.issue(l.Lvs.UUID, fmt.Sprintf("lvol %s names lvstore %s, which is not listed", l.Alias, l.Lvs.UUID))
		}
	}
	for _, b := range s.bdevs {
		self := s.objOf(b)
		if d := b.lvol; d != nil {
			storeName := ""
			if l, ok := s.lvols[strings.ToLower(b.Name)]; ok {
				storeName = l.Lvs.Name
			}
			if d.BaseSnapshot != "" {
				if p, ok := s.byNames[[2]string{storeName, d.BaseSnapshot}]; ok {
					add(lvolObj(p.UUID), self)
				} else {
					s.issue(d.Store, fmt.Sprintf("snapshot %s of clone %s is not listed", d.BaseSnapshot, b.Name))
				}
			}
			for _, c := range d.Clones {
				if cl, ok := s.byNames[[2]string{storeName, c}]; ok {
					add(self, lvolObj(cl.UUID))
				} else {
					s.issue(d.Store, fmt.Sprintf("clone %s of snapshot %s is not listed", c, b.Name))
				}
			}
			if d.EsnapClone && d.External != "" {
				if p, ok := s.uuids[strings.ToLower(d.External)]; ok {
					add(s.objOf(p), self)
				}
			}
		}
		for _, base := range b.bases {
			p, ok := s.BdevByName(base)
			if !ok {
				p, ok = s.uuids[strings.ToLower(base)]
			}
			if ok {
				add(s.objOf(p), self)
			}
		}
	}
	// What SPDK says is claimed but nothing above explains: something the
	// guard cannot name stands on it.
	for _, b := range s.bdevs {
		if b.Claimed && len(s.deps[s.objOf(b)]) == 0 {
			add(s.objOf(b), claimObj(b))
		}
	}
	for k := range s.deps {
		sort.Slice(s.deps[k], func(i, j int) bool { return s.deps[k][i] < s.deps[k][j] })
	}
}

// issue records that the listings of an lvstore disagree. Only that
// lvstore's lvols are affected: caution is scoped.
func (s *State) issue(store, what string) {
	k := strings.ToLower(store)
	s.issues[k] = append(s.issues[k], what)
}

// Issues returns why the listings of the lvstore with UUID store disagree.
func (s *State) Issues(store string) []string { return s.issues[strings.ToLower(store)] }

// Degraded returns the degraded lvols (listed without a bdev, so without
// their links) of the lvstore with UUID store.
func (s *State) Degraded(store string) []string {
	d := s.degraded[strings.ToLower(store)]
	sort.Strings(d)
	return d
}

// Dependents returns everything that stands on o, directly or not, sorted.
func (s *State) Dependents(o Obj) []Obj {
	seen := map[Obj]bool{o: true}
	var out []Obj
	queue := []Obj{o}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, d := range s.deps[cur] {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				queue = append(queue, d)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// DirectDependents returns what stands directly on o.
func (s *State) DirectDependents(o Obj) []Obj { return s.deps[o] }

// Describe names an object for people: an lvol by its alias, an lvstore by
// its name, a bdev by its name.
func (s *State) Describe(o Obj) string {
	kind, id, _ := strings.Cut(string(o), ":")
	switch kind {
	case "lvol":
		if l, ok := s.lvols[id]; ok {
			if l.bdev != nil && len(l.bdev.Aliases) > 0 {
				return l.bdev.Aliases[0]
			}
			return l.Lvs.Name + "/" + l.Name
		}
		return id
	case "lvs":
		if st, ok := s.LvstoreByUUID(id); ok {
			return "lvstore " + st.Name
		}
		return "lvstore " + id
	case "claim":
		b := s.names[id]
		return fmt.Sprintf("a %s claim on %s by a module the agent cannot name", b.ClaimType, id)
	}
	return id
}

// Has reports whether the object is in the read.
func (s *State) Has(o Obj) bool {
	kind, id, _ := strings.Cut(string(o), ":")
	switch kind {
	case "lvol":
		_, ok := s.lvols[id]
		return ok
	case "lvs":
		_, ok := s.LvstoreByUUID(id)
		return ok
	case "bdev", "claim":
		_, ok := s.names[id]
		return ok
	}
	return false
}
