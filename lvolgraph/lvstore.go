package lvolgraph

import (
	"slices"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Lvstore is one lvol store. Values reached through a Graph are shared between
// graph versions: never modify them.
type Lvstore struct {
	UUID        spdkrpc.LvstoreUUID `json:"uuid"`
	Name        spdkrpc.LvstoreName `json:"name"`
	BaseBdev    spdkrpc.BdevName    `json:"base_bdev"`
	ClusterSize uint64              `json:"cluster_size"`
	BlockSize   uint64              `json:"block_size"`
	TotalBytes  uint64              `json:"total_bytes"`
	FreeBytes   uint64              `json:"free_bytes"`
	// Listed is false for an lvstore the graph knows only because lvols
	// name it: bdev_lvol_get_lvstores did not list it (an anomaly).
	Listed bool `json:"listed"`
}

func lvstoreFrom(s *spdkrpc.Lvstore) *Lvstore {
	return &Lvstore{
		UUID:        s.UUID,
		Name:        s.Name,
		BaseBdev:    s.BaseBdev,
		ClusterSize: s.ClusterSize,
		BlockSize:   s.BlockSize,
		TotalBytes:  s.TotalDataClusters * s.ClusterSize,
		FreeBytes:   s.FreeClusters * s.ClusterSize,
		Listed:      true,
	}
}

// storeState is the graph's per-lvstore part: the lvstore, its lvol-name
// index and its anomalies. A graph version that does not touch an lvstore
// shares its storeState with the previous version.
type storeState struct {
	info  *Lvstore
	names pmap[spdkrpc.LvolName, spdkrpc.LvolUUID]
	// anomalies by subject lvol; the empty UUID holds lvstore-wide ones.
	// Normally empty, so copying it on change is cheap.
	anomalies map[spdkrpc.LvolUUID][]Anomaly
}

// Bdev is a bdev that is not an lvol: an lvstore's base bdev or an external
// snapshot, typically. Values are shared between graph versions: never
// modify them.
type Bdev struct {
	Name    spdkrpc.BdevName `json:"name"`
	UUID    spdkrpc.BdevUUID `json:"uuid"`
	Aliases []string         `json:"aliases,omitempty"`
	Product string           `json:"product_name"`
	Size    uint64           `json:"size"`
	Claimed bool             `json:"claimed"`
}

func bdevFrom(b *spdkrpc.Bdev) *Bdev {
	return &Bdev{Name: b.Name, UUID: b.UUID, Aliases: b.Aliases, Product: b.ProductName, Size: b.Size(), Claimed: b.Claimed}
}

// Lvstores returns every lvstore, sorted by name then UUID.
func (g *Graph) Lvstores() []*Lvstore {
	out := make([]*Lvstore, 0, len(g.stores))
	for _, s := range g.stores {
		out = append(out, s.info)
	}
	slices.SortFunc(out, func(a, b *Lvstore) int {
		if c := strings.Compare(string(a.Name), string(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(string(a.UUID), string(b.UUID))
	})
	return out
}

// Lvstore finds an lvstore by UUID or name. An alias is not an lvstore
// identity and finds nothing; so does a name two lvstores share.
func (g *Graph) Lvstore(ref Ref) (*Lvstore, bool) {
	s, ok := g.store(ref)
	if !ok {
		return nil, false
	}
	return s.info, true
}

func (g *Graph) store(ref Ref) (*storeState, bool) {
	switch ref.Kind {
	case RefUUID:
		s, ok := g.stores[spdkrpc.LvstoreUUID(ref.Value)]
		return s, ok
	case RefName:
		var found *storeState
		for _, s := range g.stores {
			if s.info.Name == spdkrpc.LvstoreName(ref.Value) {
				if found != nil {
					return nil, false
				}
				found = s
			}
		}
		return found, found != nil
	}
	return nil, false
}

// Lvols returns the lvols of an lvstore sorted by name (nil for an unknown
// lvstore).
func (g *Graph) Lvols(lvstore spdkrpc.LvstoreUUID) []*Lvol {
	s, ok := g.stores[lvstore]
	if !ok {
		return nil
	}
	out := make([]*Lvol, 0, s.names.len())
	s.names.each(func(_ spdkrpc.LvolName, u spdkrpc.LvolUUID) bool {
		if l, ok := g.lvols.get(u); ok {
			out = append(out, l)
		}
		return true
	})
	// Lvols that lost a duplicate-name race are not in the name index.
	for u := range s.anomalies {
		if l, ok := g.lvols.get(u); ok && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b *Lvol) int {
		if c := strings.Compare(string(a.Name), string(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(string(a.UUID), string(b.UUID))
	})
	return out
}

// Bdevs returns the bdevs that are not lvols, sorted by name.
func (g *Graph) Bdevs() []*Bdev {
	out := make([]*Bdev, 0, g.bdevs.len())
	g.bdevs.each(func(_ spdkrpc.BdevName, b *Bdev) bool {
		out = append(out, b)
		return true
	})
	slices.SortFunc(out, func(a, b *Bdev) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return out
}

// Bdev finds a non-lvol bdev by its name.
func (g *Graph) Bdev(name spdkrpc.BdevName) (*Bdev, bool) { return g.bdevs.get(name) }

// BdevByUUID finds a non-lvol bdev by its UUID.
func (g *Graph) BdevByUUID(u spdkrpc.BdevUUID) (*Bdev, bool) {
	name, ok := g.bdevUUIDs.get(u)
	if !ok {
		return nil, false
	}
	return g.bdevs.get(name)
}

// LvstoreOnBdev returns the lvstore whose base bdev is name.
func (g *Graph) LvstoreOnBdev(name spdkrpc.BdevName) (*Lvstore, bool) {
	for _, s := range g.stores {
		if s.info.Listed && s.info.BaseBdev == name {
			return s.info, true
		}
	}
	return nil, false
}
