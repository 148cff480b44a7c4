package lvolgraph

import (
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Graph is an immutable snapshot of a node's lvstores, lvols and other bdevs
// with the links between them. Every method is safe for concurrent use; a
// change (Update) returns a new Graph that shares what it did not change.
type Graph struct {
	gen    uint64
	readAt time.Time

	// stores is small (one entry per lvstore) and copied whole on change.
	stores map[spdkrpc.LvstoreUUID]*storeState
	lvols  pmap[spdkrpc.LvolUUID, *Lvol]
	// bdevs holds the bdevs that are not lvols.
	bdevs     pmap[spdkrpc.BdevName, *Bdev]
	bdevUUIDs pmap[spdkrpc.BdevUUID, spdkrpc.BdevName]
	// esnap lists the esnap clones by the external bdev UUID they report,
	// whether or not that bdev is listed.
	esnap pmap[spdkrpc.BdevUUID, []spdkrpc.LvolUUID]
	// blind holds the esnap clones bdev_get_bdevs did not list: they read
	// from a bdev nobody can name, which may be an lvol of any lvstore.
	// Normally empty; copied whole on change.
	blind map[spdkrpc.LvolUUID]bool
}

// Generation is the number the caller gave the graph when building or
// updating it.
func (g *Graph) Generation() uint64 { return g.gen }

// ReadAt is when the listings the graph was made from were read.
func (g *Graph) ReadAt() time.Time { return g.readAt }

// Len returns the number of lvols in the graph.
func (g *Graph) Len() int { return g.lvols.len() }

// Lvol finds an lvol by UUID, by alias, or by a bare name when exactly one
// lvstore has an lvol of that name.
func (g *Graph) Lvol(ref Ref) (*Lvol, bool) {
	switch ref.Kind {
	case RefUUID:
		return g.lvols.get(spdkrpc.LvolUUID(ref.Value))
	case RefAlias:
		ls := g.lvolsByAlias(spdkrpc.LvolAlias(ref.Value))
		if len(ls) != 1 {
			return nil, false
		}
		return ls[0], true
	case RefName:
		var found *Lvol
		for _, s := range g.stores {
			if l, ok := g.lvolByName(s, spdkrpc.LvolName(ref.Value)); ok {
				if found != nil {
					return nil, false
				}
				found = l
			}
		}
		return found, found != nil
	}
	return nil, false
}

// LvolIn finds an lvol of one lvstore; a bare name is looked up in that
// lvstore only.
func (g *Graph) LvolIn(lvstore spdkrpc.LvstoreUUID, ref Ref) (*Lvol, bool) {
	s, ok := g.stores[lvstore]
	if !ok {
		return nil, false
	}
	if ref.Kind == RefName {
		return g.lvolByName(s, spdkrpc.LvolName(ref.Value))
	}
	l, ok := g.Lvol(ref)
	if !ok || l.LvstoreUUID != lvstore {
		return nil, false
	}
	return l, true
}

// lvolsByAlias returns every lvol whose alias is a: "<lvstore>/<lvol>",
// where SPDK lets either name contain '/' too, so every lvstore whose name
// followed by '/' begins a is tried. More than one lvol means a listing
// the graph cannot tell apart (SPDK keeps bdev aliases unique).
func (g *Graph) lvolsByAlias(a spdkrpc.LvolAlias) []*Lvol {
	var out []*Lvol
	for _, s := range g.stores {
		if name, ok := a.NameIn(s.info.Name); ok {
			if l, ok := g.lvolByName(s, name); ok {
				out = append(out, l)
			}
		}
	}
	return out
}

func (g *Graph) lvolByName(s *storeState, name spdkrpc.LvolName) (*Lvol, bool) {
	u, ok := s.names.get(name)
	if !ok {
		return nil, false
	}
	return g.lvols.get(u)
}

// EsnapClones returns the esnap clones that read from the external bdev
// with the given UUID (an lvol's bdev UUID is its lvol UUID), sorted.
func (g *Graph) EsnapClones(bdev spdkrpc.BdevUUID) []*Lvol {
	us, _ := g.esnap.get(bdev)
	out := make([]*Lvol, 0, len(us))
	for _, u := range us {
		if l, ok := g.lvols.get(u); ok {
			out = append(out, l)
		}
	}
	sortLvols(out)
	return out
}

// lvolBdevUUID is the bdev UUID of an lvol's bdev, which SPDK makes equal to
// the lvol UUID; this is the one place the two identities are converted.
func lvolBdevUUID(u spdkrpc.LvolUUID) spdkrpc.BdevUUID { return spdkrpc.BdevUUID(u) }

// lvolOfBdevUUID is the inverse of lvolBdevUUID: the lvol, if any, whose bdev
// has that UUID.
func lvolOfBdevUUID(b spdkrpc.BdevUUID) spdkrpc.LvolUUID { return spdkrpc.LvolUUID(b) }

// lvolOfBdevName is the lvol, if any, whose bdev has that name: SPDK names
// lvol bdevs by the lvol UUID.
func lvolOfBdevName(n spdkrpc.BdevName) spdkrpc.LvolUUID { return spdkrpc.LvolUUID(n) }
