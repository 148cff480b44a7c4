package spdksim

import (
	"encoding/binary"
	"fmt"

	"github.com/google/uuid"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// The stacking modules lvstores stand on: split, passthru and raid
// (raid0, raid1, concat). Each claims its bases exclusive_write; removing
// a base hot-removes what stands on it, as SPDK does.

// The namespaces SPDK derives split and passthru UUIDs from (SHA-1, from
// the base's UUID and, for a split part, its block range).
var (
	partNamespace     = uuid.MustParse("976b899e-3e1e-4d71-ab69-c2b08e9df8b8")
	passthruNamespace = uuid.MustParse("7e25812e-c8c0-4d3f-8599-16d790555b85")
)

// splitConfig is one bdev_split_create: SPDK keeps it by base name.
type splitConfig struct {
	baseName string
	base     *bdev // nil when the base is gone
	parts    []*bdev
}

type raidInfo struct {
	level   string
	stripKB uint64
	bases   []*bdev  // nil: a removed slot (raid1)
	data    []uint64 // data_size of each slot, in blocks
}

// stackedBases returns the bdevs b stands on through a stacking module.
func (b *bdev) stackedBases() []*bdev {
	switch {
	case b.kind == kindPassthru && b.base != nil:
		return []*bdev{b.base}
	case b.kind == kindRaid:
		var out []*bdev
		for _, x := range b.raid.bases {
			if x != nil {
				out = append(out, x)
			}
		}
		return out
	}
	return nil
}

func splitErr(p params, e errno) error {
	return msgErr(spdkrpc.CodeInvalidParams, fmt.Sprintf("Failed to create %d split bdevs from '%s': %s",
		p.uint("split_count"), p.str("base_bdev"), strerror[e]))
}

func (m *model) splitCreateLocked(p params) (any, error) {
	name, count := p.str("base_bdev"), p.uint("split_count")
	if count == 0 {
		return nil, splitErr(p, einval)
	}
	for _, c := range m.splits {
		if c.baseName == name {
			return nil, splitErr(p, eexist)
		}
	}
	b, ok := m.findBdevLocked(name)
	if !ok {
		// SPDK keeps the configuration for a base that may come later.
		m.splits = append(m.splits, &splitConfig{baseName: name})
		return []string{}, nil
	}
	size := b.numBlocks / count
	if mb := p.uint("split_size_mb"); mb != 0 {
		if (mb<<20)%b.blockSize != 0 {
			return nil, splitErr(p, einval)
		}
		size = (mb << 20) / b.blockSize
	}
	n := count
	if size == 0 {
		n = 0
	} else if maxN := b.numBlocks / size; n > maxN {
		n = maxN
	}
	if n > 0 && m.claimOfLocked(b) != "" {
		// The first part claims the base; a split that makes none only
		// opens it, which a claim does not stop.
		return nil, splitErr(p, enomem)
	}
	if n > 0 && readOnlyLvolUnder(b) && m.opts.crashes() {
		// Seen on spdk_tgt v26.05: splitting a read-only lvol (a
		// snapshot, or one set read-only) kills it.
		return nil, errCrash
	}
	c := &splitConfig{baseName: b.name, base: b}
	for i := range n {
		pn := fmt.Sprintf("%sp%d", b.name, i)
		if _, dup := m.findBdevLocked(pn); dup {
			for _, x := range c.parts {
				m.unregisterLocked(x)
			}
			return nil, splitErr(p, enomem)
		}
		var key [32]byte
		bu := uuid.MustParse(b.uuid)
		copy(key[:16], bu[:])
		binary.LittleEndian.PutUint64(key[16:], i*size)
		binary.LittleEndian.PutUint64(key[24:], size)
		x := &bdev{kind: kindSplit, name: pn, uuid: uuid.NewSHA1(partNamespace, key[:]).String(),
			blockSize: b.blockSize, numBlocks: size, base: b, offset: i * size}
		c.parts = append(c.parts, x)
		m.registerLocked(x)
	}
	m.splits = append(m.splits, c)
	names := make([]string, 0, len(c.parts))
	for _, x := range c.parts {
		names = append(names, x.name)
	}
	return names, nil
}

// readOnlyLvolUnder says whether b is a read-only lvol, or a split part or
// passthru over one.
func readOnlyLvolUnder(b *bdev) bool {
	switch b.kind {
	case kindLvol:
		return b.lvol.readOnly
	case kindSplit, kindPassthru:
		return b.base != nil && readOnlyLvolUnder(b.base)
	}
	return false
}

func (m *model) splitDeleteLocked(p params) (any, error) {
	for i, c := range m.splits {
		if c.baseName != p.str("base_bdev") {
			continue
		}
		if !m.removeAllLocked(c.parts) {
			return nil, errNoReply
		}
		m.splits = append(m.splits[:i:i], m.splits[i+1:]...)
		return true, nil
	}
	return nil, paramsErr(enoent)
}

// passthruCreateLocked keeps the configuration even when the passthru
// cannot be registered (a claimed base, a name in use): SPDK does.
func (m *model) passthruCreateLocked(p params) (any, error) {
	name := p.str("name")
	if _, dup := m.passthrus[name]; dup {
		return nil, syncErr(eexist)
	}
	m.passthrus[name] = p.str("base_bdev_name")
	b, ok := m.findBdevLocked(p.str("base_bdev_name"))
	if !ok {
		return name, nil
	}
	if m.claimOfLocked(b) != "" {
		return nil, syncErr(eperm)
	}
	if _, dup := m.findBdevLocked(name); dup {
		return nil, syncErr(eexist)
	}
	m.attachPassthruLocked(name, b)
	return name, nil
}

// attachPassthruLocked registers the passthru name over b.
func (m *model) attachPassthruLocked(name string, b *bdev) {
	bu := uuid.MustParse(b.uuid)
	x := &bdev{kind: kindPassthru, name: name, uuid: uuid.NewSHA1(passthruNamespace, bu[:]).String(),
		blockSize: b.blockSize, numBlocks: b.numBlocks, base: b}
	m.registerLocked(x)
}

// examineStackLocked brings back, over a newly registered b, the
// passthru configured on its name.
func (m *model) examineStackLocked(b *bdev) {
	for name, base := range m.passthrus {
		if base != b.name {
			continue
		}
		if _, taken := m.findBdevLocked(name); !taken && m.claimOfLocked(b) == "" {
			m.attachPassthruLocked(name, b)
		}
	}
	m.examineLvstoreLocked(b)
}

func (m *model) passthruDeleteLocked(p params) (any, error) {
	b, ok := m.findBdevLocked(p.str("name"))
	if !ok || b.kind != kindPassthru {
		return nil, syncErr(enodev)
	}
	delete(m.passthrus, b.name)
	if !m.removeAllLocked([]*bdev{b}) {
		return nil, errNoReply
	}
	return true, nil
}

// removeAllLocked hot-removes bs and everything standing on them. It
// reports false when that takes an external snapshot from under an esnap
// clone: SPDK then never answers.
func (m *model) removeAllLocked(bs []*bdev) bool {
	ok := true
	for _, b := range bs {
		if !m.hotRemoveLocked(b) {
			ok = false
		}
	}
	return ok
}

// hotRemoveLocked removes b: first what stands on it (lvstore, split
// parts, passthru, raids), then b itself.
func (m *model) hotRemoveLocked(b *bdev) bool {
	ok := m.removeAboveLocked(b)
	if deps := m.esnapDependentsLocked(b); len(deps) > 0 {
		for _, l := range deps {
			l.esnapBaseGone = true
		}
		ok = false
	}
	m.unregisterLocked(b)
	if b.kind == kindMalloc {
		m.mallocBytes -= b.size()
		delete(m.meta, medium{mem: b})
	}
	return ok
}

// removeAboveLocked hot-removes what stands on b. A passthru's
// configuration stays, to come back with its base.
func (m *model) removeAboveLocked(b *bdev) bool {
	ok := true
	for _, s := range m.stores {
		if s.base == b {
			if m.hangsOnRemoveLocked(s) {
				return false
			}
			m.keepOnMediumLocked(s)
			m.closeStoreLocked(s)
			break
		}
	}
	for i, c := range m.splits {
		if c.base == b {
			if len(c.parts) == 0 && m.opts.crashes() {
				// A split that made no part still holds its base open,
				// and SPDK waits for it forever.
				return false
			}
			ok = m.removeAllLocked(c.parts) && ok
			m.splits = append(m.splits[:i:i], m.splits[i+1:]...)
			break
		}
	}
	for _, x := range append(append([]*bdev(nil), m.bdevs...), m.offline...) {
		switch {
		case x.kind == kindPassthru && x.base == b:
			ok = m.hotRemoveLocked(x) && ok
		case x.kind == kindRaid:
			ok = m.raidLoseBaseLocked(x, b) && ok
		}
	}
	return ok
}
