package lvolgraph

import (
	"maps"
	"slices"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Inputs are the three listings a full graph is built from, as decoded from
// bdev_lvol_get_lvstores, bdev_lvol_get_lvols and bdev_get_bdevs.
type Inputs struct {
	Lvstores []spdkrpc.Lvstore
	Lvols    []spdkrpc.Lvol
	Bdevs    []spdkrpc.Bdev
}

// Build makes a graph from complete listings. It never fails: whatever does
// not add up is kept and recorded as an anomaly of its lvstore (see
// Anomalies), which makes that lvstore untrustworthy for deletions.
func Build(gen uint64, readAt time.Time, in Inputs) *Graph {
	e := newEditor(nil, gen, readAt)
	e.lvols.reserve(len(in.Lvols))
	perStore := map[spdkrpc.LvstoreUUID]int{}
	for i := range in.Lvols {
		perStore[in.Lvols[i].Lvs.UUID]++
	}
	for i := range in.Lvstores {
		e.upsertLvstore(&in.Lvstores[i])
	}
	for lvs, n := range perStore {
		e.nameEdit(e.storeUUID(lvs)).reserve(n)
	}
	e.applyListings(in.Lvols, in.Bdevs)
	return e.finish()
}

// editor makes one new graph version from an old one (or from nothing, in
// which case it is "fresh" and owns everything it touches).
type editor struct {
	old   *Graph
	fresh bool
	g     Graph

	ownStores map[spdkrpc.LvstoreUUID]bool
	nameEdits map[spdkrpc.LvstoreUUID]*pedit[spdkrpc.LvolName, spdkrpc.LvolUUID]
	lvols     pedit[spdkrpc.LvolUUID, *Lvol]
	bdevs     pedit[spdkrpc.BdevName, *Bdev]
	bdevUUIDs pedit[spdkrpc.BdevUUID, spdkrpc.BdevName]
	esnap     pedit[spdkrpc.BdevUUID, []spdkrpc.LvolUUID]

	ownNodes  map[spdkrpc.LvolUUID]bool    // nodes copied by this edit (not used when fresh)
	batchSeen map[spdkrpc.LvolUUID]sources // listings seen in this batch (not used when fresh)
	dirty     set                          // lvols to resolve and check
	check     set                          // lvols to check
	cycles    map[spdkrpc.LvolUUID]bool
	dupStores map[spdkrpc.LvstoreUUID]bool
	ownBlind  bool
	dupNames  map[spdkrpc.LvolUUID]spdkrpc.LvolUUID // fresh builds: lvol -> holder of its name
}

type set struct {
	order []spdkrpc.LvolUUID
	has   map[spdkrpc.LvolUUID]bool
}

func (s *set) add(u spdkrpc.LvolUUID) {
	if s.has == nil {
		s.has = map[spdkrpc.LvolUUID]bool{}
	}
	if !s.has[u] {
		s.has[u] = true
		s.order = append(s.order, u)
	}
}

func newEditor(old *Graph, gen uint64, readAt time.Time) *editor {
	e := &editor{
		old:       old,
		fresh:     old == nil,
		ownStores: map[spdkrpc.LvstoreUUID]bool{},
		nameEdits: map[spdkrpc.LvstoreUUID]*pedit[spdkrpc.LvolName, spdkrpc.LvolUUID]{},
		cycles:    map[spdkrpc.LvolUUID]bool{},
		dupStores: map[spdkrpc.LvstoreUUID]bool{},
	}
	e.g.gen, e.g.readAt = gen, readAt
	if old == nil {
		e.g.stores = map[spdkrpc.LvstoreUUID]*storeState{}
		return e
	}
	e.g.stores = maps.Clone(old.stores)
	e.g.blind = old.blind
	e.lvols = editOf(old.lvols)
	e.bdevs = editOf(old.bdevs)
	e.bdevUUIDs = editOf(old.bdevUUIDs)
	e.esnap = editOf(old.esnap)
	e.ownNodes = map[spdkrpc.LvolUUID]bool{}
	e.batchSeen = map[spdkrpc.LvolUUID]sources{}
	return e
}

// storeMut returns the lvstore's state, owned by this edit, creating an
// unlisted placeholder for an lvstore only lvols name.
func (e *editor) storeMut(lvs spdkrpc.LvstoreUUID) *storeState {
	s, ok := e.g.stores[lvs]
	switch {
	case !ok:
		s = &storeState{info: &Lvstore{UUID: lvs}}
	case !e.ownStores[lvs]:
		c := *s
		c.anomalies = maps.Clone(s.anomalies)
		s = &c
	default:
		return s
	}
	e.g.stores[lvs] = s
	e.ownStores[lvs] = true
	return s
}

// storeUUID returns the lvstore's UUID as the graph stores it, so that
// every lvol shares one copy of the string.
func (e *editor) storeUUID(lvs spdkrpc.LvstoreUUID) spdkrpc.LvstoreUUID {
	if s, ok := e.g.stores[lvs]; ok {
		return s.info.UUID
	}
	return e.storeMut(lvs).info.UUID
}

func (e *editor) nameEdit(lvs spdkrpc.LvstoreUUID) *pedit[spdkrpc.LvolName, spdkrpc.LvolUUID] {
	if ed, ok := e.nameEdits[lvs]; ok {
		return ed
	}
	ed := &pedit[spdkrpc.LvolName, spdkrpc.LvolUUID]{}
	if s, ok := e.g.stores[lvs]; ok {
		*ed = editOf(s.names)
	}
	e.nameEdits[lvs] = ed
	return ed
}

// names reads the current name index of an lvstore.
func (e *editor) names(lvs spdkrpc.LvstoreUUID) pmap[spdkrpc.LvolName, spdkrpc.LvolUUID] {
	if ed, ok := e.nameEdits[lvs]; ok {
		return ed.m
	}
	if s, ok := e.g.stores[lvs]; ok {
		return s.names
	}
	return pmap[spdkrpc.LvolName, spdkrpc.LvolUUID]{}
}

// mutable returns a copy of the lvol this edit may change, or nil.
func (e *editor) mutable(u spdkrpc.LvolUUID) *Lvol {
	l, ok := e.lvols.get(u)
	if !ok {
		return nil
	}
	if e.fresh || e.ownNodes[u] {
		return l
	}
	c := *l
	if l.x != nil {
		x := *l.x
		c.x = &x
	}
	e.lvols.set(u, &c)
	e.ownNodes[u] = true
	return &c
}

func (e *editor) upsertLvstore(in *spdkrpc.Lvstore) {
	if old, ok := e.g.stores[in.UUID]; ok && (e.fresh || old.info.Listed && e.ownStores[in.UUID]) {
		e.dupStores[in.UUID] = true
	}
	s := e.storeMut(in.UUID)
	s.info = lvstoreFrom(in)
}

// applyListings merges lvol entries and bdevs into the graph.
func (e *editor) applyListings(lvols []spdkrpc.Lvol, bdevs []spdkrpc.Bdev) {
	for i := range lvols {
		in := &lvols[i]
		l, fresh := e.lvolForListing(in.UUID, fromLvols)
		if l == nil {
			continue
		}
		oldName, oldStore := l.Name, l.LvstoreUUID
		l.applyLvolEntry(in, e.storeUUID(in.Lvs.UUID))
		e.identityChanged(l, oldName, oldStore, fresh)
	}
	for i := range bdevs {
		b := &bdevs[i]
		info, isLvol := b.LvolInfo()
		if !isLvol {
			e.upsertBdev(b)
			continue
		}
		l, fresh := e.lvolForListing(lvolOfBdevName(b.Name), fromBdevs)
		if l == nil {
			continue
		}
		oldName, oldStore, oldExt := l.Name, l.LvstoreUUID, l.extSnapshot()
		both := l.src&fromLvols != 0 && (e.fresh || e.batchSeen[l.UUID]&fromLvols != 0)
		lvs := oldStore
		if lvs == "" {
			lvs = e.storeUUID(info.LvolStoreUUID)
		}
		var lvsName spdkrpc.LvstoreName
		if st, ok := e.g.stores[lvs]; ok {
			lvsName = st.info.Name
		}
		l.applyBdev(b, info, lvs, lvsName, both)
		if ext := l.extSnapshot(); ext != oldExt {
			e.moveEsnap(l.UUID, oldExt, ext)
		}
		e.identityChanged(l, oldName, oldStore, fresh)
	}
}

// lvolForListing returns the lvol a listing entry updates, owned by this
// edit: new, or copied for its first listing in this batch. A second entry
// with the same UUID in one listing is a duplicate: it is recorded and nil
// is returned, so the first entry stands.
func (e *editor) lvolForListing(u spdkrpc.LvolUUID, from sources) (l *Lvol, created bool) {
	if u == "" {
		return nil, false
	}
	old, ok := e.lvols.get(u)
	var seen sources
	switch {
	case e.fresh && ok:
		seen = old.src
	case !e.fresh:
		seen = e.batchSeen[u]
		e.batchSeen[u] = seen | from
	}
	if seen&from != 0 {
		if l := e.mutable(u); l != nil {
			l.extra().dupUUID = true
			e.dirty.add(u)
		}
		return nil, false
	}
	if !ok {
		l = &Lvol{UUID: u}
		e.lvols.set(u, l)
		if !e.fresh {
			e.ownNodes[u] = true
		}
		return l, true
	}
	l = e.mutable(u)
	if !e.fresh && seen == 0 && l.x != nil {
		// Fresh facts replace the doubts of earlier listings.
		l.x.dupUUID, l.x.flagsDiffer = false, ""
		l.clean()
	}
	return l, false
}

// identityChanged keeps the name index in step with an lvol's name and
// lvstore, and marks what must be resolved again.
func (e *editor) identityChanged(l *Lvol, oldName spdkrpc.LvolName, oldStore spdkrpc.LvstoreUUID, created bool) {
	if e.fresh {
		if l.Name != oldName || l.LvstoreUUID != oldStore {
			if oldStore != "" {
				e.unindexName(oldStore, oldName, l.UUID)
			}
			e.indexName(l)
		}
		return
	}
	e.dirty.add(l.UUID)
	if !created && l.Name == oldName && l.LvstoreUUID == oldStore {
		return
	}
	if !created {
		e.unindexName(oldStore, oldName, l.UUID)
		for _, c := range l.Children {
			e.dirty.add(c)
		}
	}
	e.indexName(l)
	// Clones waiting for a snapshot of this name, and esnap clones
	// waiting for this lvol's bdev, can now resolve.
	if s, ok := e.g.stores[l.LvstoreUUID]; ok {
		for u := range s.anomalies {
			if w, ok := e.lvols.get(u); ok && w.baseSnapshot == l.Name {
				e.dirty.add(u)
			}
		}
	}
	e.dirtyEsnap(lvolBdevUUID(l.UUID))
}

func (e *editor) indexName(l *Lvol) {
	if l.Name == "" && l.src&fromLvols == 0 {
		return
	}
	ed := e.nameEdit(l.LvstoreUUID)
	holder, taken := ed.get(l.Name)
	switch {
	case !taken:
		ed.set(l.Name, l.UUID)
	case e.fresh && holder != l.UUID:
		if e.dupNames == nil {
			e.dupNames = map[spdkrpc.LvolUUID]spdkrpc.LvolUUID{}
		}
		e.dupNames[l.UUID] = holder
	}
}

func (e *editor) unindexName(lvs spdkrpc.LvstoreUUID, name spdkrpc.LvolName, u spdkrpc.LvolUUID) {
	if cur, ok := e.names(lvs).get(name); ok && cur == u {
		e.nameEdit(lvs).del(name)
	}
}

func (e *editor) dirtyEsnap(b spdkrpc.BdevUUID) {
	if e.fresh {
		return
	}
	us, _ := e.esnap.get(b)
	for _, u := range us {
		e.dirty.add(u)
	}
}

// moveEsnap moves an lvol from one external bdev's esnap list to another's.
func (e *editor) moveEsnap(u spdkrpc.LvolUUID, from, to spdkrpc.BdevUUID) {
	if from != "" {
		us, _ := e.esnap.get(from)
		us = slices.DeleteFunc(slices.Clone(us), func(x spdkrpc.LvolUUID) bool { return x == u })
		if len(us) == 0 {
			e.esnap.del(from)
		} else {
			e.esnap.set(from, us)
		}
	}
	if to != "" {
		us, _ := e.esnap.get(to)
		if !e.fresh {
			us = slices.Clip(us)
		}
		e.esnap.set(to, append(us, u))
	}
}

func (e *editor) upsertBdev(b *spdkrpc.Bdev) {
	if b.Name == "" {
		return
	}
	if old, ok := e.bdevs.get(b.Name); ok && old.UUID != b.UUID {
		e.bdevUUIDs.del(old.UUID)
		e.dirtyEsnap(old.UUID)
	}
	e.bdevs.set(b.Name, bdevFrom(b))
	if b.UUID != "" {
		e.bdevUUIDs.set(b.UUID, b.Name)
	}
	e.dirtyEsnap(b.UUID)
}
