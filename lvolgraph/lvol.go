package lvolgraph

import (
	"slices"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// ParentKind says what an lvol reads its unwritten clusters from.
type ParentKind uint8

const (
	// ParentNone: the lvol has no parent.
	ParentNone ParentKind = iota
	// ParentLvol: a snapshot of the same lvstore (SPDK's "clone").
	ParentLvol
	// ParentExternal: an external bdev (SPDK's "esnap clone"), which may be
	// a malloc/aio bdev or an lvol bdev, of this lvstore or another.
	ParentExternal
)

// MarshalText renders the kind as "none", "lvol" or "external".
func (k ParentKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (k ParentKind) String() string {
	switch k {
	case ParentLvol:
		return "lvol"
	case ParentExternal:
		return "external"
	}
	return "none"
}

// Parent is an lvol's parent as reported by SPDK and as resolved in the graph.
type Parent struct {
	Kind ParentKind `json:"kind"`
	// Lvol is the parent lvol when it is known: the snapshot named by
	// base_snapshot for ParentLvol, or the lvol whose bdev is the external
	// snapshot for ParentExternal. Empty when unresolved (an anomaly) or
	// when the external parent is not an lvol.
	Lvol spdkrpc.LvolUUID `json:"lvol,omitempty"`
	// Bdev is external_snapshot_name (a bdev UUID) for ParentExternal.
	Bdev spdkrpc.BdevUUID `json:"bdev,omitempty"`
}

// IsLvol reports whether the parent is a known lvol (a snapshot, or an lvol
// bdev used as an external snapshot).
func (p Parent) IsLvol() bool { return p.Lvol != "" }

// sources records which listing reported an lvol.
type sources uint8

const (
	fromLvols sources = 1 << iota // bdev_lvol_get_lvols
	fromBdevs                     // bdev_get_bdevs
)

// Lvol is one logical volume. Values reached through a Graph are shared by
// every graph version that did not change them: never modify them.
type Lvol struct {
	UUID        spdkrpc.LvolUUID    `json:"uuid"`
	Name        spdkrpc.LvolName    `json:"name"`
	Alias       spdkrpc.LvolAlias   `json:"alias"`
	LvstoreUUID spdkrpc.LvstoreUUID `json:"lvstore_uuid"`
	// Size is num_blocks x block_size from bdev_get_bdevs; 0 when that
	// listing did not have the lvol (see Listed).
	Size uint64 `json:"size"`
	// AllocatedClusters is num_allocated_clusters; Allocated is that many
	// clusters of the lvstore's cluster size, in bytes.
	AllocatedClusters uint64 `json:"allocated_clusters"`
	Allocated         uint64 `json:"allocated"`
	Thin              bool   `json:"thin"`
	Snapshot          bool   `json:"snapshot"`
	Clone             bool   `json:"clone"`
	EsnapClone        bool   `json:"esnap_clone"`
	Degraded          bool   `json:"degraded"`
	src               sources
	mark              uint8  // scratch for a fresh build's cycle search; fits in padding
	Parent            Parent `json:"parent"`
	// Children are the lvols whose parent (ParentLvol) is this one, sorted
	// by UUID. Esnap clones reading from this lvol's bdev are not children:
	// see Graph.EsnapClones.
	Children []spdkrpc.LvolUUID `json:"children,omitempty"`

	baseSnapshot spdkrpc.LvolName // as reported, for ParentLvol
	x            *lvolExtra       // rarely needed facts, nil for most lvols
}

// lvolExtra holds what only some lvols carry, to keep the common lvol small.
type lvolExtra struct {
	clones      []spdkrpc.LvolName // driver_specific.lvol.clones
	bdevAlias   spdkrpc.LvolAlias  // when it differs from Alias
	dupUUID     bool               // the same UUID was listed twice
	flagsDiffer string             // get_lvols and get_bdevs disagree on this flag
}

// ListedInLvols and ListedInBdevs report which listing had the lvol; a
// degraded lvol is in bdev_lvol_get_lvols only.
func (l *Lvol) ListedInLvols() bool { return l.src&fromLvols != 0 }

// ListedInBdevs reports whether bdev_get_bdevs listed the lvol.
func (l *Lvol) ListedInBdevs() bool { return l.src&fromBdevs != 0 }

// BaseSnapshot is driver_specific.lvol.base_snapshot as reported.
func (l *Lvol) BaseSnapshot() spdkrpc.LvolName { return l.baseSnapshot }

// ReportedClones is driver_specific.lvol.clones as reported.
func (l *Lvol) ReportedClones() []spdkrpc.LvolName {
	if l.x == nil {
		return nil
	}
	return l.x.clones
}

func (l *Lvol) extra() *lvolExtra {
	if l.x == nil {
		l.x = &lvolExtra{}
	}
	return l.x
}

// clean drops an extra record that holds nothing any more.
func (l *Lvol) clean() {
	if x := l.x; x != nil && x.clones == nil && x.bdevAlias == "" && !x.dupUUID && x.flagsDiffer == "" {
		l.x = nil
	}
}

func (l *Lvol) addChild(u spdkrpc.LvolUUID) {
	i, found := slices.BinarySearch(l.Children, u)
	if !found {
		l.Children = slices.Insert(slices.Clip(l.Children), i, u)
	}
}

func (l *Lvol) removeChild(u spdkrpc.LvolUUID) {
	if i, found := slices.BinarySearch(l.Children, u); found {
		l.Children = slices.Delete(slices.Clone(l.Children), i, i+1)
		if len(l.Children) == 0 {
			l.Children = nil
		}
	}
}

// applyLvolEntry takes what bdev_lvol_get_lvols says about the lvol.
func (l *Lvol) applyLvolEntry(e *spdkrpc.Lvol, lvs spdkrpc.LvstoreUUID) {
	l.Name, l.Alias, l.LvstoreUUID = e.Name, e.Alias, lvs
	l.Thin, l.Snapshot, l.Clone, l.EsnapClone = e.IsThinProvisioned, e.IsSnapshot, e.IsClone, e.IsEsnapClone
	l.Degraded = e.IsDegraded
	l.AllocatedClusters = e.NumAllocatedClusters
	l.src |= fromLvols
}

// applyBdev takes what bdev_get_bdevs says about the lvol. When both
// listings came in the same batch, a disagreement on a flag is remembered.
func (l *Lvol) applyBdev(b *spdkrpc.Bdev, info *spdkrpc.LvolDriverInfo, lvs spdkrpc.LvstoreUUID, lvsName spdkrpc.LvstoreName, sameBatchLvols bool) {
	if sameBatchLvols {
		switch {
		case l.Snapshot != info.Snapshot:
			l.extra().flagsDiffer = "snapshot"
		case l.Clone != info.Clone:
			l.extra().flagsDiffer = "clone"
		case l.EsnapClone != info.EsnapClone:
			l.extra().flagsDiffer = "esnap_clone"
		}
	}
	l.Size = b.Size()
	l.Thin, l.Snapshot, l.Clone, l.EsnapClone = info.ThinProvision, info.Snapshot, info.Clone, info.EsnapClone
	l.AllocatedClusters = info.NumAllocatedClusters
	if l.LvstoreUUID == "" {
		l.LvstoreUUID = lvs
	}
	l.baseSnapshot = info.BaseSnapshot
	// Parent.Lvol is left for the resolution step, which needs the old edge.
	switch {
	case info.EsnapClone:
		l.Parent.Kind, l.Parent.Bdev = ParentExternal, info.ExternalSnapshotName
	case info.Clone:
		l.Parent.Kind, l.Parent.Bdev = ParentLvol, ""
	default:
		l.Parent.Kind, l.Parent.Bdev = ParentNone, ""
	}
	if len(info.Clones) > 0 || l.x != nil {
		l.extra().clones = info.Clones
	}
	var alias spdkrpc.LvolAlias
	if len(b.Aliases) > 0 {
		alias = spdkrpc.LvolAlias(b.Aliases[0])
	}
	switch {
	case l.src&fromLvols == 0 && l.Alias == "":
		l.Alias = alias
		// The lvstore's name may hold a '/' too: cut it off whole.
		if name, ok := alias.NameIn(lvsName); ok {
			l.Name = name
		} else if _, name, ok := alias.Split(); ok {
			l.Name = name
		}
	case alias != l.Alias:
		l.extra().bdevAlias = alias
	default:
		if l.x != nil {
			l.x.bdevAlias = ""
		}
	}
	l.src |= fromBdevs
	l.clean()
}

// extSnapshot is the external bdev UUID an esnap clone reports, or "".
func (l *Lvol) extSnapshot() spdkrpc.BdevUUID {
	if l.Parent.Kind == ParentExternal {
		return l.Parent.Bdev
	}
	return ""
}

func sortLvols(ls []*Lvol) {
	slices.SortFunc(ls, func(a, b *Lvol) int { return strings.Compare(string(a.UUID), string(b.UUID)) })
}
