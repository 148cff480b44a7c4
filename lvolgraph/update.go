package lvolgraph

import (
	"maps"
	"slices"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Update is a partial refresh: fresh listing entries for a few objects and
// the removal of others, as the agent learns of them from SPDK's
// bdev_register and bdev_unregister notifications.
type Update struct {
	// Lvols are fresh bdev_lvol_get_lvols entries.
	Lvols []spdkrpc.Lvol
	// Bdevs are fresh bdev_get_bdevs entries, lvols or not.
	Bdevs []spdkrpc.Bdev
	// RemovedBdevs are bdevs that are gone, by bdev name: the lvol UUID
	// for an lvol, or the name of another bdev.
	RemovedBdevs []spdkrpc.BdevName
	// Lvstores are fresh bdev_lvol_get_lvstores entries (free space changes
	// with every allocation; a rename changes the name).
	Lvstores []spdkrpc.Lvstore
	// RemovedLvstores are lvstores that are gone. Their lvols leave the
	// graph through RemovedBdevs; until then the lvstore stays, unlisted.
	RemovedLvstores []spdkrpc.LvstoreUUID
}

// Update returns a new graph with u applied. It copies only the parts of
// the graph that u touches and their neighbours (parents, children, esnap
// clones), so its cost does not grow with the size of the graph. Anomalies
// are re-checked for the lvols touched and their neighbours; an anomaly on
// an lvol u does not touch stays until a later update or Build clears it.
func (g *Graph) Update(gen uint64, readAt time.Time, u Update) *Graph {
	e := newEditor(g, gen, readAt)
	for i := range u.Lvstores {
		e.upsertLvstore(&u.Lvstores[i])
	}
	for _, lvs := range u.RemovedLvstores {
		if _, ok := e.g.stores[lvs]; ok {
			e.storeMut(lvs).info.Listed = false
		}
	}
	for _, name := range u.RemovedBdevs {
		e.remove(name)
	}
	e.applyListings(u.Lvols, u.Bdevs)
	return e.finish()
}

// remove takes a bdev out of the graph; an unknown name is already gone.
func (e *editor) remove(name spdkrpc.BdevName) {
	if l, ok := e.lvols.get(lvolOfBdevName(name)); ok {
		e.removeLvol(l)
		return
	}
	b, ok := e.bdevs.get(name)
	if !ok {
		return
	}
	e.bdevs.del(name)
	if cur, ok := e.bdevUUIDs.get(b.UUID); ok && cur == name {
		e.bdevUUIDs.del(b.UUID)
	}
	e.dirtyEsnap(b.UUID)
}

func (e *editor) removeLvol(l *Lvol) {
	u := l.UUID
	e.setBlind(u, false)
	e.lvols.del(u)
	delete(e.ownNodes, u)
	e.unindexName(l.LvstoreUUID, l.Name, u)
	if ext := l.extSnapshot(); ext != "" {
		e.moveEsnap(u, ext, "")
	}
	if p := l.Parent.Lvol; p != "" && e.isChild(p, u) {
		e.mutable(p).removeChild(u)
		e.check.add(p)
	}
	for _, c := range l.Children {
		e.dirty.add(c)
	}
	e.dirtyEsnap(lvolBdevUUID(u))
	if s, ok := e.g.stores[l.LvstoreUUID]; ok {
		if _, has := s.anomalies[u]; has {
			delete(e.storeMut(l.LvstoreUUID).anomalies, u)
		}
	}
}

func (e *editor) isChild(parent, child spdkrpc.LvolUUID) bool {
	p, ok := e.lvols.get(parent)
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(p.Children, child)
	return found
}

// resolve points an lvol at the parent its reported facts name, moving it
// between parents' Children as needed.
func (e *editor) resolve(u spdkrpc.LvolUUID) {
	if l, ok := e.lvols.get(u); ok {
		e.resolveLvol(l)
	}
}

func (e *editor) resolveLvol(l *Lvol) {
	u := l.UUID
	var target spdkrpc.LvolUUID
	switch l.Parent.Kind {
	case ParentLvol:
		if l.baseSnapshot != "" {
			target, _ = e.names(l.LvstoreUUID).get(l.baseSnapshot)
		}
	case ParentExternal:
		if cand := lvolOfBdevUUID(l.Parent.Bdev); cand != "" {
			if _, ok := e.lvols.get(cand); ok {
				target = cand
			}
		}
	}
	if target == u {
		// An lvol cannot be its own parent: leave it unresolved.
		e.cycles[u] = true
		target = ""
	}
	internal := l.Parent.Kind == ParentLvol && target != ""
	cs := e.clusterSize(l.LvstoreUUID)
	if e.fresh {
		// A fresh build owns every node and links each one once.
		l.Parent.Lvol = target
		if p, ok := e.lvols.get(target); ok && internal {
			p.Children = append(p.Children, u)
			// Share the parent's name string rather than keep the
			// listing's copy alive.
			l.baseSnapshot = p.Name
		}
		l.Allocated = l.AllocatedClusters * cs
		return
	}
	old := l.Parent.Lvol
	oldInternal := old != "" && e.isChild(old, u)
	if old != target || oldInternal != internal {
		l = e.mutable(u)
		l.Parent.Lvol = target
		if oldInternal {
			e.mutable(old).removeChild(u)
			e.check.add(old)
		}
		if internal {
			e.mutable(target).addChild(u)
			e.check.add(target)
		}
	}
	if l.Allocated != l.AllocatedClusters*cs {
		e.mutable(u).Allocated = l.AllocatedClusters * cs
	}
}

func (e *editor) clusterSize(lvs spdkrpc.LvstoreUUID) uint64 {
	if s, ok := e.g.stores[lvs]; ok {
		return s.info.ClusterSize
	}
	return 0
}

// finish resolves and checks what the edit touched and returns the graph.
func (e *editor) finish() *Graph {
	if e.fresh {
		e.lvols.each(func(_ spdkrpc.LvolUUID, l *Lvol) bool {
			e.resolveLvol(l)
			return true
		})
		e.lvols.each(func(_ spdkrpc.LvolUUID, l *Lvol) bool {
			if len(l.Children) > 1 {
				slices.Sort(l.Children)
			}
			return true
		})
		e.findCycles()
		e.lvols.each(func(_ spdkrpc.LvolUUID, l *Lvol) bool {
			e.recordLvolAnomalies(l)
			return true
		})
	} else {
		for i := 0; i < len(e.dirty.order); i++ {
			e.resolve(e.dirty.order[i])
		}
		for _, u := range e.dirty.order {
			e.check.add(u)
		}
		for _, u := range e.check.order {
			e.cycleThrough(u)
		}
		for _, u := range e.check.order {
			e.recordAnomalies(u)
		}
	}
	for lvs, ed := range e.nameEdits {
		if _, ok := e.g.stores[lvs]; ok || ed.m.len() > 0 {
			e.storeMut(lvs).names = ed.done()
		}
	}
	e.finishStores()
	e.g.lvols = e.lvols.done()
	e.g.bdevs = e.bdevs.done()
	e.g.bdevUUIDs = e.bdevUUIDs.done()
	e.g.esnap = e.esnap.done()
	g := e.g
	return &g
}

func (e *editor) recordAnomalies(u spdkrpc.LvolUUID) {
	if l, ok := e.lvols.get(u); ok {
		e.recordLvolAnomalies(l)
	}
}

func (e *editor) recordLvolAnomalies(l *Lvol) {
	u := l.UUID
	e.setBlind(u, l.EsnapClone && !l.ListedInBdevs())
	as := e.checkLvol(l)
	s := e.g.stores[l.LvstoreUUID]
	_, had := s.anomalies[u]
	switch {
	case len(as) > 0:
		s = e.storeMut(l.LvstoreUUID)
		if s.anomalies == nil {
			s.anomalies = map[spdkrpc.LvolUUID][]Anomaly{}
		}
		s.anomalies[u] = as
	case had:
		delete(e.storeMut(l.LvstoreUUID).anomalies, u)
	}
}

// finishStores records lvstore-wide anomalies of the lvstores this edit
// changed and drops unlisted lvstores that no longer hold lvols.
func (e *editor) finishStores() {
	for _, lvs := range slices.Sorted(maps.Keys(e.ownStores)) {
		s := e.g.stores[lvs]
		delete(s.anomalies, "")
		holds := s.names.len() > 0 || len(s.anomalies) > 0
		if !s.info.Listed && !holds {
			delete(e.g.stores, lvs)
			continue
		}
		var as []Anomaly
		if !s.info.Listed {
			as = append(as, Anomaly{Kind: AnomalyLvstoreUnlisted, Lvstore: lvs,
				Detail: "lvols name lvstore " + string(lvs) + ", which bdev_lvol_get_lvstores does not list"})
		}
		dup := e.dupStores[lvs]
		for o, other := range e.g.stores {
			if o != lvs && other.info.Listed && s.info.Listed && other.info.Name == s.info.Name {
				dup = true
			}
		}
		if dup {
			as = append(as, Anomaly{Kind: AnomalyLvstoreDuplicate, Lvstore: lvs,
				Detail: "lvstore " + string(s.info.Name) + " (" + string(lvs) + ") is listed twice, by UUID or by name"})
		}
		if len(as) > 0 {
			if s.anomalies == nil {
				s.anomalies = map[spdkrpc.LvolUUID][]Anomaly{}
			}
			s.anomalies[""] = as
		}
	}
}

func (e *editor) setBlind(u spdkrpc.LvolUUID, blind bool) {
	if e.g.blind[u] == blind {
		return
	}
	if !e.ownBlind {
		e.g.blind = maps.Clone(e.g.blind)
		e.ownBlind = true
	}
	if blind {
		if e.g.blind == nil {
			e.g.blind = map[spdkrpc.LvolUUID]bool{}
		}
		e.g.blind[u] = true
	} else {
		delete(e.g.blind, u)
	}
}
