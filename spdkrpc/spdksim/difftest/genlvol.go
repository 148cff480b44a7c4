package difftest

import "strings"

// Generators of the lvol calls.

func (g *Generator) createLvstore() (map[string]any, bool) {
	r := g.rng
	p := map[string]any{"bdev_name": g.baseRef(), "lvs_name": pick(r, lvsNames)}
	if r.Intn(6) != 0 {
		p["cluster_sz"] = pick(r, []uint64{1 << 20, 1 << 20, 1 << 20, 4 << 20, 512 << 10, 3000, 2 << 20})
	}
	if r.Intn(3) == 0 {
		p["num_md_pages_per_cluster_ratio"] = pick(r, []uint64{100, 200, 2000, 4000, 1, 10})
	}
	if r.Intn(8) == 0 {
		p["clear_method"] = pick(r, []string{"none", "unmap", "write_zeroes", "bogus"})
	}
	return p, true
}

func (g *Generator) deleteLvstore() (map[string]any, bool) {
	p := map[string]any{}
	g.storeSel(p, "uuid")
	for _, s := range g.view.stores {
		if p["lvs_name"] == s.Name || p["uuid"] == s.UUID || p["uuid"] == upper(s.UUID) {
			if !g.view.removalSafe(g.view.storeBdevs(s.UUID)...) {
				return nil, false
			}
		}
	}
	return p, true
}

func (g *Generator) renameLvstore() (map[string]any, bool) {
	n := pick(g.rng, lvsNames)
	if g.rng.Intn(6) == 0 {
		n = strings.Repeat("Z", 70)
	}
	return map[string]any{"old_name": g.lvsName(), "new_name": n}, true
}

func (g *Generator) growLvstore() (map[string]any, bool) {
	p := map[string]any{}
	g.storeSel(p, "uuid")
	return p, true
}

func (g *Generator) getLvstores() (map[string]any, bool) {
	if g.rng.Intn(2) == 0 {
		return nil, true
	}
	p := map[string]any{}
	g.storeSel(p, "uuid")
	return p, true
}

func (g *Generator) getLvols() (map[string]any, bool) {
	if g.rng.Intn(2) == 0 {
		return nil, true
	}
	p := map[string]any{}
	g.storeSel(p, "lvs_uuid")
	return p, true
}

func (g *Generator) createLvol() (map[string]any, bool) {
	r := g.rng
	p := map[string]any{"lvol_name": pick(r, lvolNames), "size_in_mib": pick(r, sizesMiB)}
	if r.Intn(3) != 0 {
		p["thin_provision"] = r.Intn(3) != 0
	}
	g.storeSel(p, "uuid")
	if r.Intn(10) == 0 {
		p["clear_method"] = pick(r, []string{"none", "unmap", "write_zeroes", "bogus"})
	}
	return p, true
}

func (g *Generator) snapshot() (map[string]any, bool) {
	return map[string]any{"lvol_name": g.lvolRef(), "snapshot_name": pick(g.rng, lvolNames)}, true
}

// pagesLeft estimates, low, how many more lvols fit in the metadata pages
// of the lvstore that an lvol named ref is in.
func (g *Generator) clonesFit(ref string) bool {
	for _, b := range g.view.lookup(ref) {
		if b.Driver.Lvol == nil {
			continue
		}
		s, ok := g.view.store(b.Driver.Lvol.LvsUUID)
		if !ok {
			continue
		}
		ratio, ok := g.ratios[s.UUID]
		if !ok {
			return false
		}
		pages := s.DataClusters * ratio / 100
		var extents uint64
		lvols := g.view.lvolsOf(s.UUID)
		for _, l := range lvols {
			extents += (l.Allocated + 511) / 512
		}
		if 1+uint64(len(lvols))+extents+4 > pages {
			return false
		}
	}
	return true
}

func (g *Generator) clone() (map[string]any, bool) {
	ref := g.lvolRef()
	if !g.clonesFit(ref) || g.view.inUnwritableStore(ref) {
		return nil, false
	}
	return map[string]any{"snapshot_name": ref, "clone_name": pick(g.rng, lvolNames)}, true
}

// esnapSafe says whether making some lvol named by lvolRefs read from the
// bdev named parent is safe: the parent is not claimed for writing and
// does not itself read from the lvol (a cycle).
func (g *Generator) esnapSafe(lvols []*bdevView, parent string) bool {
	ps := g.view.lookup(parent)
	for _, p := range ps {
		if claimedForWrite(p) {
			return false
		}
	}
	return !g.view.anyDepends(ps, lvols)
}

func (g *Generator) cloneBdev() (map[string]any, bool) {
	parent := g.bdevRef()
	lvs := g.lvsName()
	var into []*bdevView
	if s, ok := g.view.store(lvs); ok {
		into = g.view.storeBdevs(s.UUID)
		if b, ok := g.view.bdev(s.BaseBdev); ok {
			into = append(into, b)
		}
	}
	if !g.esnapSafe(into, parent) || !g.clonesFit(parent) {
		return nil, false
	}
	return map[string]any{"bdev": parent, "lvs_name": lvs, "clone_name": pick(g.rng, lvolNames)}, true
}

func (g *Generator) rename() (map[string]any, bool) {
	n := pick(g.rng, renameNames)
	return map[string]any{"old_name": g.lvolRef(), "new_name": n}, true
}

func (g *Generator) resize() (map[string]any, bool) {
	return map[string]any{"name": g.lvolRef(), "size_in_mib": pick(g.rng, sizesMiB)}, true
}

func (g *Generator) lvolOnly() (map[string]any, bool) {
	return map[string]any{"name": g.lvolRef()}, true
}

func (g *Generator) setParent() (map[string]any, bool) {
	l, p := g.lvolRef(), g.lvolRef()
	if g.view.anyDepends(g.view.lookup(p), g.view.lookup(l)) {
		return nil, false
	}
	return map[string]any{"lvol_name": l, "parent_name": p}, true
}

func (g *Generator) setParentBdev() (map[string]any, bool) {
	l := g.lvolRef()
	p := g.bdevRef()
	if !g.esnapSafe(g.view.lookup(l), p) {
		return nil, false
	}
	return map[string]any{"lvol_name": l, "parent_name": p}, true
}

func (g *Generator) deleteLvol() (map[string]any, bool) {
	name := g.lvolRef()
	if !g.view.removalSafe(g.view.lookup(name)...) || g.view.inUnwritableStore(name) {
		return nil, false
	}
	return map[string]any{"name": name}, true
}

func (g *Generator) startShallowCopy() (map[string]any, bool) {
	var dst []string
	for _, b := range g.view.bdevs {
		if !b.Claimed {
			dst = append(dst, b.Name)
		}
	}
	dst = append(dst, "nope")
	return map[string]any{"src_lvol_name": g.lvolRef(), "dst_bdev_name": pick(g.rng, dst)}, true
}

func (g *Generator) checkShallowCopy() (map[string]any, bool) {
	return map[string]any{"operation_id": uint64(g.rng.Intn(int(g.opIDs) + 2))}, true
}
