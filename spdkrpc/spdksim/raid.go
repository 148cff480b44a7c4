package spdksim

import (
	"fmt"
	"slices"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func raidErr(name string, e errno) error {
	return msgErr(-int(e), fmt.Sprintf("Failed to create RAID bdev %s: %s", name, strerror[e]))
}

// raidLevels maps what bdev_raid_create accepts to the level it reports;
// anything else fails the parameter decoding.
var raidLevels = map[string]string{
	"raid0": "raid0", "0": "raid0", "raid1": "raid1", "1": "raid1",
	"concat": "concat", "raid5f": "raid5f", "5f": "raid5f",
}

func (m *model) raidCreateLocked(p params) (any, error) {
	name := p.str("name")
	level, ok := raidLevels[p.str("raid_level")]
	if !ok {
		return nil, msgErr(spdkrpc.CodeParseError, "spdk_json_decode_object failed")
	}
	if _, dup := m.raidNamedLocked(name); dup {
		return nil, raidErr(name, eexist)
	}
	strip := p.uint("strip_size_kb")
	names := p.strs("base_bdevs")
	switch {
	case level == "raid5f", len(names) == 0, level == "raid1" && len(names) < 2,
		level == "raid1" && strip != 0,
		level != "raid1" && (strip == 0 || strip&(strip-1) != 0):
		return nil, raidErr(name, einval)
	}
	bases := make([]*bdev, 0, len(names))
	seen := map[*bdev]bool{}
	for _, n := range names {
		b, ok := m.findBdevLocked(n)
		if !ok {
			// SPDK would wait, configuring, for the base to appear.
			return nil, raidErr(name, enodev)
		}
		if seen[b] || m.claimOfLocked(b) != "" {
			return nil, raidErr(name, eperm)
		}
		// Each base is checked as it is configured, in order: its data
		// must start inside it, then its block size match the first's.
		if b.numBlocks == 0 || b.blockSize != bases0(bases, b).blockSize {
			return nil, raidErr(name, einval)
		}
		seen[b] = true
		bases = append(bases, b)
	}
	if _, dup := m.findBdevLocked(name); dup {
		return nil, raidErr(name, eexist)
	}
	r := &raidInfo{level: level, stripKB: strip, bases: bases, data: make([]uint64, len(bases))}
	bs := bases[0].blockSize
	stripBlocks := strip << 10 / bs
	minBlocks := bases[0].numBlocks
	for _, b := range bases {
		minBlocks = min(minBlocks, b.numBlocks)
	}
	var total uint64
	for i, b := range bases {
		switch level {
		case "raid1":
			r.data[i] = minBlocks
			total = minBlocks
		case "raid0":
			r.data[i] = minBlocks / stripBlocks * stripBlocks
			total += r.data[i]
		default:
			r.data[i] = b.numBlocks / stripBlocks * stripBlocks
			total += r.data[i]
		}
	}
	x := &bdev{kind: kindRaid, name: name, uuid: m.newUUIDLocked(), blockSize: bs, numBlocks: total, raid: r}
	m.registerLocked(x)
	return true, nil
}

func bases0(bases []*bdev, b *bdev) *bdev {
	if len(bases) == 0 {
		return b
	}
	return bases[0]
}

func (m *model) raidDeleteLocked(p params) (any, error) {
	name := p.str("name")
	b, ok := m.raidNamedLocked(name)
	if !ok {
		return nil, msgErr(-int(enodev), "raid bdev "+name+" not found")
	}
	for i, x := range m.offline {
		if x == b {
			m.offline = append(m.offline[:i:i], m.offline[i+1:]...)
			return true, nil
		}
	}
	if !m.hotRemoveLocked(b) {
		return nil, errNoReply
	}
	return true, nil
}

func (m *model) raidRemoveBaseLocked(p params) (any, error) {
	b, ok := m.findBdevLocked(p.str("name"))
	if ok {
		for _, x := range append(append([]*bdev(nil), m.bdevs...), m.offline...) {
			if x.kind != kindRaid {
				continue
			}
			for _, y := range x.raid.bases {
				if y == b {
					if !m.raidLoseBaseLocked(x, b) {
						return nil, errNoReply
					}
					return true, nil
				}
			}
		}
	}
	return nil, msgErr(-int(enodev), "Failed to remove base bdev from raid bdev")
}

// members counts the bases r still has.
func (r *raidInfo) members() int {
	n := 0
	for _, x := range r.bases {
		if x != nil {
			n++
		}
	}
	return n
}

// raidLoseBaseLocked takes b out of raid r: a raid1 with another base
// left degrades, any other raid goes (with what stands on it).
func (m *model) raidLoseBaseLocked(r, b *bdev) bool {
	left := 0
	slot := -1
	for i, y := range r.raid.bases {
		if y == b {
			slot = i
		} else if y != nil {
			left++
		}
	}
	if slot < 0 {
		return true
	}
	r.raid.bases[slot] = nil
	if r.raid.level == "raid1" && left > 0 {
		return true
	}
	for i, x := range m.offline {
		if x == r {
			if left == 0 {
				m.offline = append(m.offline[:i:i], m.offline[i+1:]...)
			}
			return true
		}
	}
	// The raid goes offline: its bdev goes with what stands on it, the
	// configuration stays and keeps the bases it has left claimed until
	// bdev_raid_delete.
	ok := m.hotRemoveLocked(r)
	if left > 0 {
		m.offline = append(m.offline, r)
	}
	return ok
}

// raidNamedLocked finds a raid by name, online or offline.
func (m *model) raidNamedLocked(name string) (*bdev, bool) {
	for _, b := range slices.Concat(m.bdevs, m.offline) {
		if b.kind == kindRaid && b.name == name {
			return b, true
		}
	}
	return nil, false
}

type raidBaseJSON struct {
	Name         *string `json:"name"`
	UUID         string  `json:"uuid"`
	IsConfigured bool    `json:"is_configured"`
	DataOffset   uint64  `json:"data_offset"`
	DataSize     uint64  `json:"data_size"`
}

type raidJSON struct {
	UUID               string         `json:"uuid"`
	StripSizeKB        uint64         `json:"strip_size_kb"`
	State              string         `json:"state"`
	RaidLevel          string         `json:"raid_level"`
	Superblock         bool           `json:"superblock"`
	NumBaseBdevs       int            `json:"num_base_bdevs"`
	NumBaseDiscovered  int            `json:"num_base_bdevs_discovered"`
	NumBaseOperational int            `json:"num_base_bdevs_operational"`
	BaseBdevsList      []raidBaseJSON `json:"base_bdevs_list"`
}

func (b *bdev) raidJSON() *raidJSON {
	r := b.raid
	j := &raidJSON{UUID: b.uuid, StripSizeKB: r.stripKB, State: "online", RaidLevel: r.level,
		NumBaseBdevs: len(r.bases), BaseBdevsList: []raidBaseJSON{}}
	for i, x := range r.bases {
		e := raidBaseJSON{UUID: "00000000-0000-0000-0000-000000000000", DataSize: r.data[i]}
		if x != nil {
			n := x.name
			e.Name, e.UUID, e.IsConfigured = &n, x.uuid, true
			j.NumBaseDiscovered++
		}
		j.BaseBdevsList = append(j.BaseBdevsList, e)
	}
	j.NumBaseOperational = j.NumBaseDiscovered
	return j
}
