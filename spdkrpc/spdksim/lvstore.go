package spdksim

import (
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

const (
	defaultClusterSize = 4 << 20
	defaultMDRatio     = 100
	mdPageSize         = 4096
	// maxNameLen is SPDK's limit on lvol and lvstore names, in bytes
	// (SPDK_LVOL_NAME_MAX less the terminating NUL).
	maxNameLen = 63
	// extentPageClusters is how many clusters one extent page maps: an
	// lvol with allocated clusters costs metadata pages beyond its own.
	extentPageClusters = 512
)

// lvstore is a blobstore on a base bdev.
type lvstore struct {
	uuid        string
	name        string
	base        *bdev
	clusterSize uint64
	// ioUnit is the store's block size: its base's when it was made,
	// kept across loads from a base whose block size differs.
	ioUnit       uint64
	dataClusters uint64
	mdPages      uint64
	maxGrowable  uint64
	ratio        uint64
	clearMethod  string
	lvols        []*lvol // creation order
	// devBytes is the base's size when the store was made or last grown.
	devBytes uint64
	// leaked counts clusters a failed copy took and never gave back.
	leaked uint64
	// newName is the name the last rename asked for ("" before any).
	newName string
	// used holds the md pages in use: 0 is the lvstore's super blob.
	used map[uint64]bool
}

// geometry computes what SPDK's blobstore reserves on a base of the given
// size: a super block, a used-page mask, a used-cluster mask sized for
// the largest store the md pages can grow to, a blob-id mask and the md
// pages (ratio/100 per cluster), rounded up to whole clusters at the start
// of the device. A 256 MiB base with 4 MiB clusters gives 64 clusters, 64
// md pages and 63 data clusters, as recorded. It fails with the errno
// SPDK's initialisation gives.
func geometry(baseBytes, clusterSize, ratio uint64) (data, mdPages, maxGrowable uint64, err errno) {
	total := baseBytes / clusterSize
	mdPages = total * ratio / 100
	if mdPages == 0 {
		return 0, 0, 0, einval
	}
	if baseBytes < clusterSize {
		return 0, 0, 0, enospc
	}
	pageMask := maskPages(mdPages)
	pages := mdStartPages(total, mdPages) + mdPages
	mdClusters := (pages + clusterSize/mdPageSize - 1) / (clusterSize / mdPageSize)
	if mdClusters > total {
		return 0, 0, 0, enomem
	}
	maxGrowable = (pageMask*mdPageSize - 5) * 8 * clusterSize
	return total - mdClusters, mdPages, maxGrowable, 0
}

// maskPages is the size of a bit mask of bits bits with its 5-byte
// header, in 4 KiB pages.
func maskPages(bits uint64) uint64 { return (5 + (bits+7)/8 + mdPageSize - 1) / mdPageSize }

// mdStartPages is where the md pages begin on the device, in 4 KiB
// pages: after the super block and the three masks.
func mdStartPages(total, mdPages uint64) uint64 {
	pageMask := maskPages(mdPages)
	return 1 + pageMask + max(maskPages(total), pageMask) + pageMask
}

// touchMetaLocked records that s wrote md page page: on a thin lvol the
// write allocates the lvol's clusters up to it.
func (m *model) touchMetaLocked(s *lvstore, page uint64) {
	if s.base.kind != kindLvol {
		return
	}
	outer := s.base.lvol
	end := (mdStartPages(s.base.size()/s.clusterSize, s.mdPages) + page + 1) * mdPageSize
	n := min(outer.clusters, (end+outer.lvs.clusterSize-1)/outer.lvs.clusterSize)
	_ = m.allocateLocked(outer, n)
}

func (s *lvstore) allocatedClusters() uint64 {
	var n uint64
	for _, l := range s.lvols {
		n += l.allocated
	}
	return n
}

func (s *lvstore) freeClusters() uint64 {
	return s.dataClusters - s.allocatedClusters() - s.leaked
}

func extentPages(clusters uint64) uint64 {
	return (clusters + extentPageClusters - 1) / extentPageClusters
}

// hasPages says whether n more metadata pages fit.
func (s *lvstore) hasPages(n uint64) bool { return s.pagesUsed()+n <= s.mdPages }

func (s *lvstore) lvolNamed(name string) (*lvol, bool) {
	for _, l := range s.lvols {
		if l.name == name {
			return l, true
		}
	}
	return nil, false
}

func (s *lvstore) wire() spdkrpc.Lvstore {
	return spdkrpc.Lvstore{
		UUID: spdkrpc.LvstoreUUID(s.uuid), Name: spdkrpc.LvstoreName(s.name),
		BaseBdev: spdkrpc.BdevName(s.base.name), TotalDataClusters: s.dataClusters,
		FreeClusters: s.freeClusters(), BlockSize: s.ioUnit,
		ClusterSize: s.clusterSize, MaxGrowableSize: s.maxGrowable,
	}
}

func validName(n string) bool { return n != "" && len(n) <= maxNameLen }

// cutName is what SPDK's renames do with a long name: keep 63 bytes.
func cutName(n string) string {
	if len(n) > maxNameLen {
		return n[:maxNameLen]
	}
	return n
}

func validClearMethod(c string) bool {
	return c == "" || c == "none" || c == "unmap" || c == "write_zeroes"
}

var errCleanMethod = msgErr(-int(einval), "Invalid clean_method option")

var errClearMethodLvs = msgErr(-int(einval), "Invalid clear_method parameter")

// createLvstoreLocked checks in SPDK's order: the clear method, the name,
// the base bdev and its claim, the cluster size against the block size,
// a duplicate name; then, reported asynchronously, the blobstore's own
// checks and geometry.
func (m *model) createLvstoreLocked(p params) (any, error) {
	if !validClearMethod(p.str("clear_method")) {
		return nil, errClearMethodLvs
	}
	name := p.str("lvs_name")
	if !validName(name) {
		return nil, syncErr(einval)
	}
	if ps := p.uint("md_page_size"); ps != 0 && (ps < 4096 || ps > 65536 || ps&(ps-1) != 0) {
		return nil, syncErr(einval)
	}
	b, ok := m.findBdevLocked(p.str("bdev_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	if m.claimOfLocked(b) != "" {
		return nil, syncErr(eperm)
	}
	cluster := uint64(defaultClusterSize)
	if c := p.uint("cluster_sz"); c != 0 {
		cluster = c
	}
	if cluster < b.blockSize || cluster%b.blockSize != 0 {
		return nil, syncErr(einval)
	}
	if _, dup := m.findStoreLocked(name, false); dup {
		return nil, syncErr(eexist)
	}
	ratio := uint64(defaultMDRatio)
	if r := p.uint("num_md_pages_per_cluster_ratio"); r != 0 {
		ratio = r
	}
	if cluster%mdPageSize != 0 {
		return nil, paramsErr(einval)
	}
	data, pages, growable, e := geometry(b.size(), cluster, ratio)
	if e == 0 && cluster < mdPageSize {
		e = einval
	}
	if e != 0 {
		return nil, paramsErr(e)
	}
	if !m.writeLocked(b) {
		// Writing the new blobstore's metadata fails, and a failed
		// creation on a read-only lvol leaves it held: deleting it later
		// never answers.
		if b.kind == kindLvol {
			b.lvol.wedged = true
		}
		return nil, paramsErr(eio)
	}
	s := &lvstore{
		uuid: m.newUUIDLocked(), name: name, base: b, clusterSize: cluster, ioUnit: b.blockSize,
		dataClusters: data, mdPages: pages, maxGrowable: growable, ratio: ratio, clearMethod: p.str("clear_method"),
		used: map[uint64]bool{0: true}, devBytes: b.size(),
	}
	m.stores = append(m.stores, s)
	if b.kind == kindLvol && b.lvol.thin && p.str("clear_method") != "none" {
		// The new blobstore unmaps its whole device first, which gives a
		// thin lvol's clusters back.
		b.lvol.allocated = 0
		b.lvol.syncExtents()
	}
	m.touchMetaLocked(s, 0)
	return s.uuid, nil
}

func (m *model) getLvstoresLocked(p params) (any, error) {
	out := []spdkrpc.Lvstore{}
	if !p.given() {
		for _, s := range m.stores {
			out = append(out, s.wire())
		}
		return out, nil
	}
	s, err := m.storeXorLocked(p, "uuid")
	if err != nil {
		return nil, err
	}
	return append(out, s.wire()), nil
}

// renameLvstoreLocked follows SPDK: a store keeps the name it was last
// asked to take (newName, "" until the first rename), and a new name may
// match no store's name or newName, which is why renaming to "" fails
// while some store was never renamed. On success, even to the same name,
// every lvol's alias is set again from its name, which undoes a
// half-applied lvol rename.
func (m *model) renameLvstoreLocked(p params) (any, error) {
	old, full := p.str("old_name"), p.str("new_name")
	s, ok := m.findStoreLocked(old, false)
	if !ok {
		return nil, msgErr(-int(enoent), "Lvol store "+old+" not found")
	}
	if full != s.name {
		for _, x := range m.stores {
			if x.name == full || x.newName == full {
				return nil, paramsErr(eexist)
			}
		}
		for _, l := range s.lvols {
			if l.esnapOnClaimed && m.opts.crashes() {
				// Re-opening the esnap device of a claimed bdev kills SPDK
				// (sharp edge 2).
				return nil, errCrash
			}
		}
		if !m.writeLocked(s.base) {
			return nil, paramsErr(eio)
		}
		s.newName = cutName(full)
		s.name = s.newName
	}
	// One lvol after the other, each against the aliases as they stand:
	// those not reset yet still carry the old store name.
	for _, l := range s.lvols {
		if _, taken := m.findBdevLocked(s.name + "/" + l.name); !taken {
			l.aliasFull = s.name + "/" + l.name
		}
	}
	return true, nil
}

func (m *model) growLvstoreLocked(p params) (any, error) {
	s, err := m.storeXorLocked(p, "uuid")
	if err != nil {
		return nil, err
	}
	// The md pages stay as created: a grown store keeps its page budget.
	if data, _, _, e := geometry(s.base.size(), s.clusterSize, s.ratio); e == 0 && data > s.dataClusters {
		s.dataClusters, s.devBytes = data, s.base.size()
	}
	return true, nil
}

func (m *model) deleteLvstoreLocked(p params) (any, error) {
	s, err := m.storeXorLocked(p, "uuid")
	if err != nil {
		return nil, err
	}
	if m.hangsOnRemoveLocked(s) {
		return nil, errNoReply
	}
	m.closeStoreLocked(s)
	if err := m.wipeMediumLocked(s); err != nil {
		return nil, syncErr(eio)
	}
	return true, nil
}

// closeStoreLocked unregisters s and all its lvols. The caller decides
// whether the metadata survives (an aio file keeps it).
func (m *model) closeStoreLocked(s *lvstore) {
	if m.unwritten && !m.retired {
		// Changes whose write is still queued (writeQueued) reach
		// the file before the store leaves the model.
		_ = m.persistStoreLocked(s)
	}
	for _, l := range s.lvols {
		if l.bdev != nil {
			// What stands on the lvol (a nested lvstore, a split, a
			// passthru, a raid) goes with it.
			m.removeAboveLocked(l.bdev)
			m.unregisterLocked(l.bdev)
			l.bdev = nil
		}
	}
	for i, x := range m.stores {
		if x == s {
			m.stores = append(m.stores[:i:i], m.stores[i+1:]...)
			break
		}
	}
	m.notifyChangedLocked()
}

// hangsOnRemoveLocked says whether removing s would pull the external
// snapshot from under an esnap clone of another lvstore: SPDK never answers
// such a delete.
func (m *model) hangsOnRemoveLocked(s *lvstore) bool {
	if !m.opts.crashes() {
		return false
	}
	for _, l := range s.lvols {
		if l.bdev == nil {
			continue
		}
		if l.wedged {
			return true
		}
		for _, d := range m.esnapDependentsLocked(l.bdev) {
			if d.lvs != s {
				return true
			}
		}
	}
	return false
}
