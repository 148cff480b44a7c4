package spdksim

import (
	"strings"

	"github.com/google/uuid"
)

// Operations on existing lvols: delete (with its merge), rename, resize,
// read-only, re-parenting, decouple and inflate.

// findLvolForDeleteLocked is bdev_lvol_delete's lookup, which reaches
// degraded lvols too: the bdev name or alias, then the lvol UUID in any
// case, then "lvs/lvol" names split at the first slash.
func (m *model) findLvolForDeleteLocked(name string) (*lvol, bool) {
	if l, ok := m.findLvolLocked(name); ok {
		return l, true
	}
	if u, err := uuid.Parse(name); err == nil && len(name) == 36 {
		for _, s := range m.stores {
			for _, l := range s.lvols {
				if l.uuid == u.String() {
					return l, true
				}
			}
		}
	}
	if lvsName, lvolName, ok := strings.Cut(name, "/"); ok {
		if s, ok := m.findStoreLocked(lvsName, false); ok {
			return s.lvolNamed(lvolName)
		}
	}
	return nil, false
}

func (m *model) deleteLvolLocked(p params) (any, error) {
	l, ok := m.findLvolForDeleteLocked(p.str("name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	if l.esnapBaseGone && m.opts.crashes() {
		// Opening the lost esnap device during the delete dereferences a
		// NULL lvol in SPDK v26.05 (transcript 210).
		return nil, errCrash
	}
	if l.wedged {
		if m.opts.crashes() {
			return nil, errNoReply
		}
		return nil, internalErr(ebusy)
	}
	if deps := m.esnapDependentsLocked(l.bdev); l.bdev != nil && len(deps) > 0 {
		if m.opts.crashes() {
			return nil, errNoReply // and the lvol stays (sharp edge 3)
		}
		return nil, internalErr(ebusy)
	}
	if len(l.clones) > 1 {
		return nil, internalErr(eperm)
	}
	if len(l.clones) == 1 {
		m.mergeIntoCloneLocked(l, l.clones[0])
	}
	if !m.writeLocked(l.lvs.base) {
		if m.opts.crashes() {
			// Seen on spdk_tgt v26.05: the delete kills it.
			return nil, errCrash
		}
		return nil, internalErr(eio)
	}
	if l.strayExtent {
		// Persisting the emptied blob fails: SPDK forgets the lvol but
		// never releases its clusters and md pages.
		l.lvs.leaked += l.allocated
		l.page, l.extents = noPage, nil
		m.removeLvolLocked(l)
		return nil, internalErr(einval)
	}
	m.removeLvolLocked(l)
	return true, nil
}

// mergeIntoCloneLocked is what deleting a snapshot with exactly one clone
// does: the snapshot's clusters move into the clone, and the clone takes
// the snapshot's own parent (snapshot or external), or none.
func (m *model) mergeIntoCloneLocked(s, c *lvol) {
	if c.allocated == 0 && (s.strayExtent || s.allocated > c.clusters) {
		// The clone had no extent page and takes the snapshot's, which
		// maps clusters beyond the clone's end (or already did).
		c.strayExtent = true
	}
	c.allocated = min(c.clusters, c.allocated+s.allocated)
	s.allocated = 0
	s.syncExtents()
	c.syncExtents()
	// The clone takes the snapshot's place in its parent's clone list at
	// the end, as SPDK re-adds it.
	c.parent = s.parent
	if pp := s.parent; pp != nil {
		for i, x := range pp.clones {
			if x == s {
				pp.clones = append(pp.clones[:i:i], pp.clones[i+1:]...)
				break
			}
		}
		pp.clones = append(pp.clones, c)
	}
	c.esnap, c.esnapBdev, c.esnapBaseGone, c.esnapOnClaimed = s.esnap, s.esnapBdev, s.esnapBaseGone, s.esnapOnClaimed
	s.parent, s.clones = nil, nil
}

func (m *model) removeLvolLocked(l *lvol) {
	l.detach()
	l.releasePages()
	s := l.lvs
	for i, x := range s.lvols {
		if x == l {
			s.lvols = append(s.lvols[:i:i], s.lvols[i+1:]...)
			break
		}
	}
	if l.bdev != nil {
		m.removeAboveLocked(l.bdev)
		m.unregisterLocked(l.bdev)
		l.bdev = nil
	}
}

// renameLvolLocked renames an lvol the way SPDK does it, in two steps:
// first the bdev alias moves to "lvs/new" (refused when any bdev already
// has that name or alias, the lvol's own current one included), then the
// blob's name, which fails on a duplicate or a read-only blob with the
// alias already moved (sharp edge 6). The name is cut at 63 bytes, the
// alias is not (sharp edge 4).
func (m *model) renameLvolLocked(p params) (any, error) {
	l, ok := m.findLvolLocked(p.str("old_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	full := p.str("new_name")
	if _, taken := m.findBdevLocked(l.lvs.name + "/" + full); taken {
		return nil, paramsErr(eexist)
	}
	l.aliasFull = l.lvs.name + "/" + full
	// Names compare over 64 bytes, so a 64-byte name never equals a
	// (63-byte) lvol name; the name kept is cut to 63.
	if full == l.name {
		return true, nil
	}
	if _, dup := l.lvs.lvolNamed(full); dup {
		return nil, paramsErr(eexist)
	}
	if l.readOnly {
		return nil, paramsErr(eperm)
	}
	if !m.writeLocked(l.lvs.base) {
		return nil, paramsErr(eio) // the alias has moved already
	}
	l.name = cutName(full)
	return true, nil
}

func (m *model) resizeLocked(p params) (any, error) {
	l, ok := m.findLvolLocked(p.str("name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	if l.readOnly {
		return nil, paramsErr(eperm)
	}
	mib := p.uint("size_in_mib")
	if mib > (1<<63)>>20 {
		return nil, paramsErr(enospc)
	}
	clusters := (mib<<20 + l.lvs.clusterSize - 1) / l.lvs.clusterSize
	if !l.thin && clusters > l.clusters {
		grow := clusters - l.clusters
		if grow > l.lvs.freeClusters() {
			return nil, paramsErr(enospc)
		}
		if !l.lvs.hasPages(extentPages(clusters) - extentPages(l.allocated)) {
			return nil, paramsErr(enospc)
		}
		l.allocated += grow
	}
	if clusters != l.clusters && !m.writeLocked(l.lvs.base) {
		return nil, paramsErr(eio)
	}
	if clusters != l.clusters {
		l.strayExtent = false
	}
	if clusters < l.clusters && m.openLocked(l.bdev) {
		// The blob shrinks first; the bdev, open by what stands on it or
		// reads from it, refuses to (sharp edge 12): the clusters are gone.
		l.allocated = min(l.allocated, clusters)
		l.syncExtents()
		return nil, paramsErr(ebusy)
	}
	l.clusters = clusters
	l.allocated = min(l.allocated, clusters)
	l.syncExtents()
	l.bdev.numBlocks = l.sizeBytes() / l.bdev.blockSize
	return true, nil
}

func (m *model) setReadOnlyLocked(p params) (any, error) {
	l, ok := m.findLvolLocked(p.str("name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	l.readOnly = true
	if !m.writeLocked(l.lvs.base) {
		// The flags are set in memory before the sync fails.
		return nil, paramsErr(eio)
	}
	return true, nil
}

func (m *model) setParentLocked(p params) (any, error) {
	l, ok := m.findLvolLocked(p.str("lvol_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	s, ok := m.findLvolLocked(p.str("parent_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	// The blobstore knows the parent by its blob id only, and opens it in
	// the lvol's own store: a snapshot of another lvstore stands for
	// whatever blob has that id here, if any.
	switch {
	case l.page == s.page:
		return nil, paramsErr(einval)
	case l.parent != nil && l.parent.page == s.page:
		return nil, paramsErr(eexist)
	case !l.thin:
		return nil, paramsErr(einval)
	}
	t, ok := l.lvs.lvolByPage(s.page)
	switch {
	case !ok:
		return nil, paramsErr(enoent)
	case !t.snapshot || t.clusters != l.clusters:
		return nil, paramsErr(einval)
	}
	l.detach()
	l.parent = t
	t.clones = append(t.clones, l)
	t.snapshot = true
	if !m.writeLocked(l.lvs.base) {
		return nil, paramsErr(eio) // set in memory, not on disk
	}
	return true, nil
}

func (m *model) setParentBdevLocked(p params) (any, error) {
	l, ok := m.findLvolLocked(p.str("lvol_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	b, ok := m.findBdevLocked(p.str("parent_name"))
	if !ok {
		return nil, paramsErr(enodev)
	}
	switch {
	case b == l.bdev, !m.readClaimableLocked(b), b.size()%l.lvs.clusterSize != 0:
		// A device that cannot be claimed for reading opens degraded,
		// whose size is no multiple of any cluster.
		return nil, paramsErr(einval)
	case l.esnapBdev == b:
		return nil, paramsErr(eexist)
	case !l.thin:
		return nil, paramsErr(einval)
	}
	l.detach()
	if !m.writeLocked(l.lvs.base) {
		// The new parent is set in memory, its device dropped, when the
		// sync fails: the lvol reads as an esnap clone holding no claim.
		l.esnap = b.uuid
		return nil, paramsErr(eio)
	}
	l.esnap, l.esnapBdev = b.uuid, b
	return true, nil
}

// decoupleLocked copies the parent's clusters into the lvol and hands it
// the grandparent: the lvol no longer depends on its parent.
func (m *model) decoupleLocked(p params) (any, error) {
	l, ok := m.findLvolLocked(p.str("name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	if l.parent == nil && l.esnap == "" {
		return nil, paramsErr(einval)
	}
	if l.parent == nil {
		// An esnap clone is decoupled by inflating it.
		return m.inflateLocked(p)
	}
	if !l.thin {
		return true, nil
	}
	pp := l.parent
	if !m.writeLocked(l.lvs.base) {
		return nil, m.copyFailsLocked(l, pp.allocated > 0)
	}
	if err := m.allocateLocked(l, min(l.clusters, l.allocated+pp.allocated)); err != nil {
		return nil, err
	}
	switch {
	case pp.esnap != "":
		// The blobstore then opens the parent's parent by id, and an
		// external snapshot has none: the copy is done, the link is not.
		return nil, paramsErr(enoent)
	case pp.parent != nil:
		gp := pp.parent
		l.detach()
		l.parent = gp
		gp.clones = append(gp.clones, l)
		return true, nil
	}
	l.detach()
	return true, nil
}

// inflateLocked allocates every cluster of the lvol and cuts all its
// parents: it becomes thick and stands alone. Clusters are copied one by
// one, so an esnap clone larger than its external snapshot fails with
// EINVAL at the first cluster past the snapshot's end, the ones before
// it already allocated.
func (m *model) inflateLocked(p params) (any, error) {
	l, ok := m.findLvolLocked(p.str("name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	if !l.thin {
		return true, nil
	}
	if l.clusters-l.allocated > l.lvs.freeClusters() {
		return nil, paramsErr(enospc)
	}
	if !m.writeLocked(l.lvs.base) {
		return nil, m.copyFailsLocked(l, l.allocated < l.clusters)
	}
	if e := l.esnapBdev; e != nil && e.size() < l.sizeBytes() {
		covered := e.size() / l.lvs.clusterSize
		if err := m.allocateLocked(l, max(l.allocated, covered)); err != nil {
			return nil, err
		}
		// The cluster whose copy fails was taken from the store and is
		// never given back (nor counted in the lvol).
		if l.lvs.freeClusters() > 0 {
			l.lvs.leaked++
		}
		return nil, paramsErr(einval)
	}
	if err := m.allocateLocked(l, l.clusters); err != nil {
		return nil, err
	}
	l.detach()
	l.thin = false
	return true, nil
}

// allocateLocked raises l's allocated clusters to n, or fails with SPDK's
// asynchronous ENOSPC / ENOMEM.
// copyFailsLocked is an inflate or decouple on a store whose metadata
// cannot be written: the first cluster it allocates (if any) is taken and
// never given back, and the copy fails with EIO.
func (m *model) copyFailsLocked(l *lvol, allocates bool) error {
	if allocates && l.lvs.freeClusters() > 0 {
		l.lvs.leaked++
	}
	return paramsErr(eio)
}

func (m *model) allocateLocked(l *lvol, n uint64) error {
	if n <= l.allocated {
		return nil
	}
	if n-l.allocated > l.lvs.freeClusters() {
		return paramsErr(enospc)
	}
	if !l.lvs.hasPages(extentPages(n) - extentPages(l.allocated)) {
		return paramsErr(enospc)
	}
	l.allocated = n
	l.syncExtents()
	return nil
}
