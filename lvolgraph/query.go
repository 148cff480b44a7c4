package lvolgraph

import (
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Parent returns the parent lvol of l: its snapshot, or the lvol whose bdev
// it reads from as an external snapshot. ok is false when l has no parent
// lvol (no parent, a non-lvol external bdev, or an unresolved parent).
func (g *Graph) Parent(l *Lvol) (*Lvol, bool) {
	if l == nil || l.Parent.Lvol == "" {
		return nil, false
	}
	return g.lvols.get(l.Parent.Lvol)
}

// Children returns the clones of l (lvols whose snapshot parent is l),
// sorted by UUID.
func (g *Graph) Children(l *Lvol) []*Lvol {
	if l == nil {
		return nil
	}
	out := make([]*Lvol, 0, len(l.Children))
	for _, u := range l.Children {
		if c, ok := g.lvols.get(u); ok {
			out = append(out, c)
		}
	}
	return out
}

// Dependents returns the lvols that read from l directly: its clones, then
// the esnap clones of its bdev.
func (g *Graph) Dependents(l *Lvol) []*Lvol {
	if l == nil {
		return nil
	}
	return append(g.Children(l), g.EsnapClones(lvolBdevUUID(l.UUID))...)
}

// Ancestors returns l's parent, its parent's parent, and so on up to the
// root, crossing from an esnap clone to an lvol external parent. The walk
// stops at a parent that is not an lvol and at a parent loop.
func (g *Graph) Ancestors(l *Lvol) []*Lvol {
	var out []*Lvol
	if l == nil {
		return nil
	}
	var seen map[spdkrpc.LvolUUID]bool
	for cur := l; ; {
		p, ok := g.Parent(cur)
		if !ok {
			return out
		}
		if len(out) >= 64 {
			// Deep chains are rare; only then pay for loop detection.
			if seen == nil {
				seen = map[spdkrpc.LvolUUID]bool{l.UUID: true}
				for _, a := range out {
					seen[a.UUID] = true
				}
			}
			if seen[p.UUID] {
				return out
			}
			seen[p.UUID] = true
		} else if p == l || containsLvol(out, p) {
			return out
		}
		out = append(out, p)
		cur = p
	}
}

func containsLvol(ls []*Lvol, l *Lvol) bool {
	for _, x := range ls {
		if x.UUID == l.UUID {
			return true
		}
	}
	return false
}

// Root returns the topmost lvol of l's chain (l itself when it has no
// parent lvol).
func (g *Graph) Root(l *Lvol) *Lvol {
	if as := g.Ancestors(l); len(as) > 0 {
		return as[len(as)-1]
	}
	return l
}

// Depth returns the number of ancestors of l.
func (g *Graph) Depth(l *Lvol) int { return len(g.Ancestors(l)) }

// Descendants returns every lvol that reads, directly or not, from l:
// clones, esnap clones of its bdev, and theirs, breadth first.
func (g *Graph) Descendants(l *Lvol) []*Lvol {
	if l == nil {
		return nil
	}
	seen := map[spdkrpc.LvolUUID]bool{l.UUID: true}
	var out []*Lvol
	queue := []*Lvol{l}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, d := range g.Dependents(cur) {
			if !seen[d.UUID] {
				seen[d.UUID] = true
				out = append(out, d)
				queue = append(queue, d)
			}
		}
	}
	return out
}

// Roots returns the lvols of an lvstore that have no parent lvol, sorted by
// name.
func (g *Graph) Roots(lvstore spdkrpc.LvstoreUUID) []*Lvol {
	var out []*Lvol
	for _, l := range g.Lvols(lvstore) {
		if l.Parent.Lvol == "" {
			out = append(out, l)
		}
	}
	return out
}

// DependOnExternal returns, for every external bdev that esnap clones read
// from, the clones that do, keyed by the bdev UUID they report.
func (g *Graph) DependOnExternal() map[spdkrpc.BdevUUID][]*Lvol {
	out := map[spdkrpc.BdevUUID][]*Lvol{}
	g.esnap.each(func(b spdkrpc.BdevUUID, _ []spdkrpc.LvolUUID) bool {
		if ls := g.EsnapClones(b); len(ls) > 0 {
			out[b] = ls
		}
		return true
	})
	return out
}
