package spdksim

// medium is where an lvstore's metadata lives: an aio bdev's file, a
// malloc bdev's memory, an lvol's clusters. Bdevs stacked at the start of
// a medium (a passthru, a split's first part) read the same blocks, so
// SPDK's examine finds an lvstore left there by a hot-removal through any
// of them.
type medium struct {
	file string // an aio file
	mem  *bdev  // a malloc bdev
	lvol string // an lvol, by UUID (it survives its lvstore's reload)
}

// mediumOf returns the medium whose first block is b's first block.
func mediumOf(b *bdev) (medium, bool) {
	switch b.kind {
	case kindAio:
		return medium{file: b.filename}, true
	case kindMalloc:
		return medium{mem: b}, true
	case kindLvol:
		return medium{lvol: b.lvol.uuid}, true
	case kindPassthru:
		return mediumOf(b.base)
	case kindSplit:
		if b.offset == 0 {
			return mediumOf(b.base)
		}
	}
	return medium{}, false
}

// readMediumLocked returns the lvstore metadata on md, if any.
func (m *model) readMediumLocked(md medium) (diskStore, bool) {
	if md.file != "" {
		d, ok, err := readMetadata(md.file)
		return d, ok && err == nil
	}
	d, ok := m.meta[md]
	return d, ok
}

// keepOnMediumLocked remembers what a hot-removed lvstore left on an
// in-memory medium (an aio file has it already).
func (m *model) keepOnMediumLocked(s *lvstore) {
	if md, ok := mediumOf(s.base); ok && md.file == "" {
		m.meta[md] = encodeStore(s)
	}
}

// wipeMediumLocked erases the lvstore metadata on s's medium, as
// bdev_lvol_delete_lvstore erases the super block.
func (m *model) wipeMediumLocked(s *lvstore) error {
	md, ok := mediumOf(s.base)
	if !ok {
		return nil
	}
	if md.file != "" {
		return wipeMetadata(md.file)
	}
	delete(m.meta, md)
	return nil
}

// examineLvstoreLocked loads the lvstore on b's medium, as SPDK's lvol
// examine does for every new bdev nothing else has claimed.
func (m *model) examineLvstoreLocked(b *bdev) {
	if m.claimOfLocked(b) != "" {
		return
	}
	md, ok := mediumOf(b)
	if !ok {
		return
	}
	if d, ok := m.readMediumLocked(md); ok {
		m.loadStoreLocked(b, d)
	}
}
