package spdksim

import (
	"math/rand"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// bdevKind says which driver a bdev belongs to; it decides its JSON shape.
type bdevKind int

const (
	kindMalloc bdevKind = iota
	kindAio
	kindLvol
	kindSplit
	kindPassthru
	kindRaid
)

// bdev is a registered block device.
type bdev struct {
	kind      bdevKind
	name      string
	uuid      string
	blockSize uint64
	numBlocks uint64
	filename  string // aio only
	lvol      *lvol  // lvol only
	// base is what a split part or a passthru stands on; offset is a
	// split part's first block in it.
	base   *bdev
	offset uint64
	raid   *raidInfo // raid only
	// io is what the bdev answered about its I/O types at registration.
	io *ioTypes
}

func (b *bdev) size() uint64 { return b.blockSize * b.numBlocks }

// aliases returns the bdev's aliases: its UUID for malloc and aio bdevs, the
// "lvs/name" alias for lvols (built from the alias name, which a half-failed
// rename lets drift from the lvol's own name).
func (b *bdev) aliases() []string {
	if b.kind == kindLvol {
		return []string{b.lvol.alias()}
	}
	return []string{b.uuid}
}

// model is the whole simulated target: bdevs, lvstores, notifications and
// shallow copies. All of it is guarded by mu; every method whose name ends
// in Locked needs mu held by its caller.
type model struct {
	mu sync.Mutex // protects everything below

	opts    Options
	crashed bool       // a request crashed the target: nothing is answered any more
	retired bool       // replaced by a restart: writes nothing to aio files any more
	rng     *rand.Rand // nil: UUIDs from crypto/rand
	bdevs   []*bdev    // registration order, as bdev_get_bdevs lists them
	stores  []*lvstore // creation order
	// unwritten is set while a change is not yet written to the aio
	// files; queued are the lvol methods' answers waiting for that write,
	// and writing is set while writeQueued runs.
	unwritten bool
	queued    []queuedReply
	writing   bool
	// mallocSeq numbers default malloc names (Malloc0, Malloc1, ...).
	mallocSeq int
	// mallocBytes is the memory held by malloc bdevs, against opts.MemoryLimit.
	mallocBytes uint64
	// lvolSeq orders lvols across lvstores by creation (a blob id stand-in).
	lvolSeq uint64

	notes    []notification
	noteNext uint64

	// splits are the split configurations, by base bdev name.
	splits []*splitConfig
	// offline are the raids that lost a base they cannot run without:
	// unregistered, still configured, holding their other bases.
	offline []*bdev
	// passthrus are the passthru configurations: name -> base bdev name.
	passthrus map[string]string
	// meta is what hot-removed lvstores left on in-memory media.
	meta map[medium]diskStore

	copies  map[uint32]shallowCopy
	copySeq uint32

	// changed is closed and replaced at every state change, to wake
	// bdev_get_bdevs calls waiting for a bdev to appear.
	changed chan struct{}
}

func newModel(opts Options) *model {
	m := &model{opts: opts, copies: map[uint32]shallowCopy{}, passthrus: map[string]string{}, meta: map[medium]diskStore{}, changed: make(chan struct{})}
	if opts.Seed != 0 {
		m.rng = rand.New(rand.NewSource(opts.Seed))
	}
	return m
}

// newUUIDLocked returns a random UUID, or a seeded one for golden tests.
func (m *model) newUUIDLocked() string {
	if m.rng == nil {
		return uuid.NewString()
	}
	var b [16]byte
	m.rng.Read(b[:])
	u, _ := uuid.FromBytes(b[:])
	u[6] = (u[6] & 0x0f) | 0x40 // version 4
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return u.String()
}

// notifyChangedLocked wakes every waiter for a state change.
func (m *model) notifyChangedLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// findBdevLocked resolves a bdev by name or alias, as spdk_bdev_get_by_name.
func (m *model) findBdevLocked(name string) (*bdev, bool) {
	if name == "" {
		return nil, false
	}
	for _, b := range m.bdevs {
		if b.name == name {
			return b, true
		}
	}
	for _, b := range m.bdevs {
		if (b.kind == kindLvol && b.lvol.alias() == name) || (b.kind != kindLvol && b.uuid == name) {
			return b, true
		}
	}
	return nil, false
}

// findBdevByUUIDLocked finds the registered bdev whose UUID is u.
func (m *model) findBdevByUUIDLocked(u string) (*bdev, bool) {
	for _, b := range m.bdevs {
		if b.uuid == u {
			return b, true
		}
	}
	return nil, false
}

// findLvolLocked resolves an lvol by its bdev's name or alias: lvol methods
// go through the bdev layer, so an unregistered (degraded) lvol and any
// non-lvol bdev are "not found".
func (m *model) findLvolLocked(name string) (*lvol, bool) {
	b, ok := m.findBdevLocked(name)
	if !ok || b.kind != kindLvol {
		return nil, false
	}
	return b.lvol, true
}

// registerLocked adds b to the bdev list and announces it, then brings
// back the degraded esnap clones that were waiting for its UUID.
func (m *model) registerLocked(b *bdev) {
	io := liveIOTypes(b)
	b.io = &io
	m.bdevs = append(m.bdevs, b)
	m.notifyLocked("bdev_register", b.name)
	m.notifyChangedLocked()
	defer m.examineStackLocked(b)
	for _, s := range m.stores {
		for _, l := range s.lvols {
			if l.bdev == nil && l.esnap == b.uuid {
				l.esnapBdev = b
				m.registerLvolLocked(l)
			}
		}
	}
}

// unregisterLocked removes b from the bdev list and announces it.
func (m *model) unregisterLocked(b *bdev) {
	for i, x := range m.bdevs {
		if x == b {
			m.bdevs = append(m.bdevs[:i:i], m.bdevs[i+1:]...)
			m.notifyLocked("bdev_unregister", b.name)
			m.notifyChangedLocked()
			return
		}
	}
}

// claimOf returns the claim SPDK reports on b ("" when unclaimed): an
// lvstore's base is claimed read_many_write_one, an external snapshot's base
// read_many_write_none.
func (m *model) claimOfLocked(b *bdev) string {
	return m.claimsLocked()[b]
}

// readClaimableLocked says whether SPDK can take a read_many_write_none
// claim on b, as an external snapshot's device does: b holds that claim
// already or none, and no descriptor writes to it.
func (m *model) readClaimableLocked(b *bdev) bool {
	switch m.claimOfLocked(b) {
	case "read_many_write_none":
		return true
	case "":
		return !heldForWrite(b)
	}
	return false
}

// writeClaimableLocked says whether SPDK can take a read_many_write_one
// claim on b (a shallow copy's destination): no claim, no other writer.
func (m *model) writeClaimableLocked(b *bdev) bool {
	return m.claimOfLocked(b) == "" && !heldForWrite(b)
}

// openLocked says whether any descriptor is open on b: every claim
// holds one, and so do a split that made no part (reading) and a failed
// lvstore creation on a read-only lvol (writing). SPDK refuses to shrink
// an open bdev.
func (m *model) openLocked(b *bdev) bool {
	if m.claimOfLocked(b) != "" || heldForWrite(b) {
		return true
	}
	for _, c := range m.splits {
		if c.base == b {
			return true
		}
	}
	return false
}

// heldForWrite says whether a descriptor that holds no claim writes to b:
// the one a failed lvstore creation leaves open on a read-only lvol.
func heldForWrite(b *bdev) bool {
	return b.kind == kindLvol && b.lvol.wedged
}

// claimsLocked returns the claim of every claimed bdev, in one pass over
// the lvols (a listing of thousands of bdevs asks once, not per bdev).
func (m *model) claimsLocked() map[*bdev]string {
	out := map[*bdev]string{}
	for _, s := range m.stores {
		for _, l := range s.lvols {
			if l.esnapBdev != nil {
				out[l.esnapBdev] = "read_many_write_none"
			}
		}
	}
	for _, b := range slices.Concat(m.bdevs, m.offline) {
		for _, x := range b.stackedBases() {
			out[x] = "exclusive_write"
		}
	}
	for _, c := range m.splits {
		if c.base != nil && len(c.parts) > 0 {
			out[c.base] = "exclusive_write"
		}
	}
	for _, s := range m.stores {
		out[s.base] = "read_many_write_one"
	}
	return out
}

// esnapDependentsLocked returns the lvols that read from b as their
// external snapshot.
func (m *model) esnapDependentsLocked(b *bdev) []*lvol {
	var out []*lvol
	if b == nil {
		return nil
	}
	for _, s := range m.stores {
		for _, l := range s.lvols {
			if l.esnap == b.uuid && l.esnapBdev == b {
				out = append(out, l)
			}
		}
	}
	return out
}

// findStoreLocked finds an lvstore by UUID or by name. SPDK parses a UUID
// parameter (spdk_uuid_parse) before comparing, so hex digits match in
// either case.
func (m *model) findStoreLocked(uuidOrName string, byUUID bool) (*lvstore, bool) {
	for _, s := range m.stores {
		if (byUUID && len(uuidOrName) == len(s.uuid) && strings.EqualFold(s.uuid, uuidOrName)) || (!byUUID && s.name == uuidOrName) {
			return s, true
		}
	}
	return nil, false
}

// storeXorLocked resolves the "uuid | lvs_name, not both" pair several
// methods take: both or neither is -22, an unknown one -19.
func (m *model) storeXorLocked(p params, uuidKey string) (*lvstore, error) {
	u, hasU := p.strOK(uuidKey)
	n, hasN := p.strOK("lvs_name")
	switch {
	case hasU == hasN:
		return nil, syncErr(einval)
	case hasU:
		if s, ok := m.findStoreLocked(u, true); ok {
			return s, nil
		}
	default:
		if s, ok := m.findStoreLocked(n, false); ok {
			return s, nil
		}
	}
	return nil, syncErr(enodev)
}
