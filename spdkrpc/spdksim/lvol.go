package spdksim

import (
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// lvol is a logical volume: a blob in an lvstore, usually with a bdev.
type lvol struct {
	uuid string
	name string
	// aliasFull is the bdev alias, "lvs/name" as it was last set: it
	// drifts from the names after a half-failed or over-long rename
	// (sharp edges 4 and 6) until the lvstore is renamed, and keeps the
	// old store name while a store rename resets the aliases one by one.
	aliasFull string
	lvs       *lvstore
	seq       uint64 // creation order across the model, like a blob id
	clusters  uint64
	thin      bool
	readOnly  bool
	snapshot  bool // SPDK's "is a snapshot": set once any lvol was cloned from or re-parented onto it, and kept
	// wedged marks a read-only lvol a failed bdev_lvol_create_lvstore
	// left held: SPDK never finishes deleting it.
	wedged    bool
	allocated uint64
	// strayExtent marks an lvol whose extent page, taken from a larger
	// snapshot it absorbed, still maps clusters past its end: deleting
	// it fails half-way (-32603 EINVAL), the lvol gone and what it held
	// leaked. A resize rewrites the page; a snapshot takes it along.
	strayExtent bool
	// page is the blob id (its first md page); extents its extent pages.
	page    uint64
	extents []uint64

	parent *lvol   // the snapshot this lvol is a clone of
	clones []*lvol // for snapshots: clones in the order they were attached

	// esnap is the UUID of the external snapshot's bdev ("" if none) and
	// esnapBdev the bdev it was opened against: nil while degraded, and
	// still set after SPDK lost the base without telling the lvol.
	esnap     string
	esnapBdev *bdev
	// esnapBaseGone marks an esnap clone whose base bdev was deleted under
	// it: SPDK still lists it as healthy, and crashes when it is deleted.
	esnapBaseGone bool
	// esnapOnClaimed marks an esnap clone of an already claimed bdev, which
	// crashes SPDK the next time the esnap device is opened.
	esnapOnClaimed bool

	bdev *bdev // the registered lvol bdev; nil while degraded
}

func (l *lvol) alias() string { return l.aliasFull }

func (l *lvol) isClone() bool { return l.parent != nil }

func (l *lvol) sizeBytes() uint64 { return l.clusters * l.lvs.clusterSize }

func (l *lvol) wire() spdkrpc.Lvol {
	return spdkrpc.Lvol{
		Alias: spdkrpc.LvolAlias(l.lvs.name + "/" + l.name), UUID: spdkrpc.LvolUUID(l.uuid),
		Name: spdkrpc.LvolName(l.name), IsThinProvisioned: l.thin, IsSnapshot: l.snapshot,
		IsClone: l.isClone(), IsEsnapClone: l.esnap != "", IsDegraded: l.bdev == nil,
		NumAllocatedClusters: l.allocated,
		Lvs:                  spdkrpc.LvstoreRef{Name: spdkrpc.LvstoreName(l.lvs.name), UUID: spdkrpc.LvstoreUUID(l.lvs.uuid)},
	}
}

// driverInfo is driver_specific.lvol of the lvol's bdev.
func (l *lvol) driverInfo() *spdkrpc.LvolDriverInfo {
	d := &spdkrpc.LvolDriverInfo{
		LvolStoreUUID: spdkrpc.LvstoreUUID(l.lvs.uuid), BaseBdev: spdkrpc.BdevName(l.lvs.base.name),
		ThinProvision: l.thin, NumAllocatedClusters: l.allocated, Snapshot: l.snapshot,
		Clone: l.isClone(), EsnapClone: l.esnap != "", ExternalSnapshotName: spdkrpc.BdevUUID(l.esnap),
	}
	if l.parent != nil {
		d.BaseSnapshot = spdkrpc.LvolName(l.parent.name)
	}
	for _, c := range l.clones {
		d.Clones = append(d.Clones, spdkrpc.LvolName(c.name))
	}
	return d
}

// detach cuts l from its parent snapshot or external snapshot.
func (l *lvol) detach() {
	if p := l.parent; p != nil {
		for i, c := range p.clones {
			if c == l {
				p.clones = append(p.clones[:i:i], p.clones[i+1:]...)
				break
			}
		}
	}
	l.parent, l.esnap, l.esnapBdev, l.esnapBaseGone, l.esnapOnClaimed = nil, "", nil, false, false
}

// newLvolLocked adds an lvol to s and registers its bdev. The caller has
// checked names, space and metadata pages.
func (m *model) newLvolLocked(s *lvstore, name string, clusters uint64, thin bool) *lvol {
	l := m.addLvolLocked(s, name, clusters, thin)
	m.registerLvolLocked(l)
	return l
}

// addLvolLocked adds an lvol to s without registering its bdev: a
// degraded lvol has none.
func (m *model) addLvolLocked(s *lvstore, name string, clusters uint64, thin bool) *lvol {
	m.lvolSeq++
	l := &lvol{uuid: m.newUUIDLocked(), name: name, aliasFull: s.name + "/" + name, lvs: s, seq: m.lvolSeq, clusters: clusters, thin: thin}
	l.page, _ = s.takePage()
	m.touchMetaLocked(s, l.page)
	if !thin {
		l.allocated = clusters
		l.syncExtents()
	}
	s.lvols = append(s.lvols, l)
	return l
}

func (m *model) registerLvolLocked(l *lvol) {
	if l.bdev != nil {
		return
	}
	l.bdev = &bdev{kind: kindLvol, name: l.uuid, uuid: l.uuid, blockSize: l.lvs.ioUnit, lvol: l}
	l.bdev.numBlocks = l.sizeBytes() / l.bdev.blockSize
	m.registerLocked(l.bdev)
}

// writeLocked writes metadata to b and says whether it reached b's
// medium: not through a read-only lvol anywhere beneath it. An lvstore on
// such a device fails every metadata write with EIO. A raid0 or concat
// writes metadata to its first base; a raid1 write succeeds when one
// member takes it, and a member that fails it is failed out, as SPDK's
// raid1 does on a write error.
func (m *model) writeLocked(b *bdev) bool {
	switch b.kind {
	case kindLvol:
		return !b.lvol.readOnly
	case kindSplit, kindPassthru:
		return m.writeLocked(b.base)
	case kindRaid:
		if b.raid.level != "raid1" {
			// Metadata sits at the start of the device, in the first
			// strip (or the first base of a concat): only that base is
			// written. A read-only base further on fails data writes,
			// which the model does not make.
			return b.raid.bases[0] != nil && m.writeLocked(b.raid.bases[0])
		}
		var failed []*bdev
		for _, x := range b.raid.bases {
			if x != nil && !m.writeLocked(x) {
				failed = append(failed, x)
			}
		}
		if len(failed) == 0 {
			return true
		}
		all := len(failed) == b.raid.members()
		for _, x := range failed {
			m.raidLoseBaseLocked(b, x) // the last one takes the raid
		}
		return !all
	}
	return true
}

// checkPageAndAliasLocked is the last check of every lvol-creating call:
// an md page for the blob, then the "lvs/name" alias for its bdev.
func (m *model) checkPageAndAliasLocked(s *lvstore, name string) error {
	if !s.hasPages(1) {
		return paramsErr(enomem)
	}
	if _, taken := m.findBdevLocked(s.name + "/" + name); taken {
		return paramsErr(eexist)
	}
	return nil
}

func (m *model) createLvolLocked(p params) (any, error) {
	s, err := m.storeXorLocked(p, "uuid")
	if err != nil {
		return nil, err
	}
	if !validClearMethod(p.str("clear_method")) {
		return nil, errCleanMethod
	}
	name := p.str("lvol_name")
	if !validName(name) {
		return nil, syncErr(einval)
	}
	if _, dup := s.lvolNamed(name); dup {
		return nil, syncErr(eexist)
	}
	mib := p.uint("size_in_mib")
	if mib > (1<<63)>>20 {
		return nil, paramsErr(enospc)
	}
	clusters := (mib<<20 + s.clusterSize - 1) / s.clusterSize
	thin := p.boolean("thin_provision")
	if !s.hasPages(1) {
		return nil, paramsErr(enomem)
	}
	if !thin {
		if clusters > s.freeClusters() {
			return nil, paramsErr(enospc)
		}
		// Resizing a blob finds its extent pages' md pages with the
		// clusters: a shortage there is ENOSPC too.
		if !s.hasPages(1 + extentPages(clusters)) {
			return nil, paramsErr(enospc)
		}
	}
	if err := m.checkPageAndAliasLocked(s, name); err != nil {
		return nil, err
	}
	if !m.writeLocked(s.base) {
		return nil, paramsErr(eio)
	}
	return m.newLvolLocked(s, name, clusters, thin).uuid, nil
}

// snapshotLocked makes a read-only snapshot of an lvol. The snapshot takes
// over the origin's clusters and place in the chain; the origin becomes a
// thin clone of it.
func (m *model) snapshotLocked(p params) (any, error) {
	o, ok := m.findLvolLocked(p.str("lvol_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	// The name, then the md page, then the blob (a read-only origin), and
	// last the new bdev's alias.
	name := p.str("snapshot_name")
	if !validName(name) {
		return nil, paramsErr(einval)
	}
	if _, dup := o.lvs.lvolNamed(name); dup {
		return nil, paramsErr(eexist)
	}
	if o.readOnly {
		return nil, paramsErr(einval)
	}
	if !o.lvs.hasPages(1) {
		return nil, paramsErr(enomem)
	}
	if err := m.checkPageAndAliasLocked(o.lvs, name); err != nil {
		if o.lvs.hasPages(1) {
			// The alias is taken: SPDK finds it only after the blob
			// snapshot, which it rolls back all but the origin's thin
			// flag.
			o.thin = true
		}
		return nil, err
	}
	if !m.writeLocked(o.lvs.base) {
		return nil, paramsErr(eio)
	}
	s := m.newLvolLocked(o.lvs, name, o.clusters, o.thin)
	s.snapshot, s.readOnly, s.allocated = true, true, o.allocated
	s.strayExtent, o.strayExtent = o.strayExtent, false
	io := liveIOTypes(s.bdev) // a snapshot registers read-only
	s.bdev.io = &io
	// The snapshot takes over the origin's clusters with their extent
	// pages, instead of claiming its own.
	for _, pg := range s.extents {
		s.lvs.freePage(pg)
	}
	s.extents, o.extents = o.extents, nil
	s.esnap, s.esnapBdev, s.esnapBaseGone, s.esnapOnClaimed = o.esnap, o.esnapBdev, o.esnapBaseGone, o.esnapOnClaimed
	// The snapshot joins the origin's parent's clones at the end, where
	// SPDK's clone list puts it.
	if pp := o.parent; pp != nil {
		s.parent = pp
		for i, c := range pp.clones {
			if c == o {
				pp.clones = append(pp.clones[:i:i], pp.clones[i+1:]...)
				break
			}
		}
		pp.clones = append(pp.clones, s)
	}
	o.parent, o.esnap, o.esnapBdev, o.esnapBaseGone, o.esnapOnClaimed = s, "", nil, false, false
	o.thin, o.allocated = true, 0
	s.clones = []*lvol{o}
	return s.uuid, nil
}

func (m *model) cloneLocked(p params) (any, error) {
	s, ok := m.findLvolLocked(p.str("snapshot_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	name := p.str("clone_name")
	if !validName(name) {
		return nil, paramsErr(einval)
	}
	if _, dup := s.lvs.lvolNamed(name); dup {
		return nil, paramsErr(eexist)
	}
	// Any read-only blob can be cloned, not only a snapshot.
	if !s.readOnly {
		return nil, paramsErr(einval)
	}
	if !s.lvs.hasPages(1) && m.opts.crashes() {
		// SPDK v26.05 dies here instead of failing (sharp edge 1).
		return nil, errCrash
	}
	if err := m.checkPageAndAliasLocked(s.lvs, name); err != nil {
		return nil, err
	}
	if !m.writeLocked(s.lvs.base) {
		if m.opts.crashes() {
			// Seen on spdk_tgt v26.05: a clone in a store whose metadata
			// cannot be written kills it.
			return nil, errCrash
		}
		return nil, paramsErr(eio)
	}
	c := m.newLvolLocked(s.lvs, name, s.clusters, true)
	c.parent = s
	s.clones = append(s.clones, c)
	s.snapshot = true
	return c.uuid, nil
}

func (m *model) cloneBdevLocked(p params) (any, error) {
	s, ok := m.findStoreLocked(p.str("lvs_name"), false)
	if !ok {
		return nil, msgErr(spdkrpc.CodeInvalidParams, "lvs does not exist")
	}
	b, ok := m.findBdevLocked(p.str("bdev"))
	if !ok {
		return nil, msgErr(spdkrpc.CodeInvalidParams, "bdev does not exist")
	}
	if b.kind == kindLvol && b.lvol.lvs == s {
		return nil, msgErr(spdkrpc.CodeInvalidParams, "bdev is an lvol in same lvs as clone; use bdev_lvol_clone instead")
	}
	name := p.str("clone_name")
	if !validName(name) {
		return nil, paramsErr(einval)
	}
	if _, dup := s.lvolNamed(name); dup {
		return nil, paramsErr(eexist)
	}
	if b.size()%s.clusterSize != 0 {
		return nil, paramsErr(einval)
	}
	if !s.hasPages(1) {
		return nil, paramsErr(enomem)
	}
	if s.ioUnit%b.blockSize != 0 {
		// SPDK finds this when it opens the blob it has just written, and
		// leaves that blob behind: its md page stays taken.
		s.takePage()
		return nil, paramsErr(einval)
	}
	if err := m.checkPageAndAliasLocked(s, name); err != nil {
		return nil, err
	}
	if !m.writeLocked(s.base) {
		return nil, paramsErr(eio)
	}
	c := m.addLvolLocked(s, name, b.size()/s.clusterSize, true)
	c.esnap = b.uuid
	if !m.readClaimableLocked(b) {
		// The clone is written, but its external snapshot cannot be
		// claimed: SPDK keeps it degraded, without a bdev, and dies when
		// it next tries to open that device (sharp edge 2).
		c.esnapOnClaimed = true
		return c.uuid, nil
	}
	c.esnapBdev = b
	m.registerLvolLocked(c)
	return c.uuid, nil
}

func (m *model) getLvolsLocked(p params) (any, error) {
	stores := m.stores
	if p.given() {
		s, err := m.storeXorLocked(p, "lvs_uuid")
		if err != nil {
			return nil, err
		}
		stores = []*lvstore{s}
	}
	out := []spdkrpc.Lvol{}
	for _, s := range stores {
		for _, l := range s.lvols {
			out = append(out, l.wire())
		}
	}
	return out, nil
}
