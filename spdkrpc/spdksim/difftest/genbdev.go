package difftest

// Generators of the bdev calls: the modules lvstores stand on.

// mallocBudget bounds the bytes all malloc bdevs hold: a target started
// with 1 GiB has about 160 MiB for them.
const mallocBudget = 120 << 20

func (g *Generator) mallocBytes() uint64 {
	var n uint64
	for _, b := range g.view.bdevs {
		if b.ProductName == "Malloc disk" {
			n += b.size()
		}
	}
	return n
}

func (g *Generator) mallocCreate() (map[string]any, bool) {
	r := g.rng
	bs := pick(r, []uint64{512, 512, 4096, 4096, 1000})
	mib := pick(r, []uint64{4, 8, 8, 16, 16, 32})
	if g.mallocBytes()+mib<<20 > mallocBudget {
		return nil, false
	}
	p := map[string]any{"block_size": bs, "num_blocks": mib << 20 / bs}
	if r.Intn(8) != 0 {
		p["name"] = pick(r, mallocNames)
	}
	if r.Intn(20) == 0 {
		p["uuid"] = "6b1e1a5e-0000-4000-8000-00000000000" + string(rune('1'+r.Intn(3)))
	}
	return p, true
}

// deleteBdev is the generator of every "delete a bdev by name" call.
func (g *Generator) deleteBdev(key string, ref func() string) (map[string]any, bool) {
	name := ref()
	if !g.view.removalSafe(g.view.lookup(name)...) {
		return nil, false
	}
	return map[string]any{key: name}, true
}

func (g *Generator) mallocDelete() (map[string]any, bool) {
	return g.deleteBdev("name", g.baseRef)
}

func (g *Generator) aioCreate() (map[string]any, bool) {
	r := g.rng
	p := map[string]any{"name": pick(r, aioNames), "filename": "@DIR@/" + pick(r, aioFiles)}
	if _, taken := g.view.bdev(p["name"].(string)); !taken && g.fileOpen(p["filename"].(string)) {
		// SPDK lets a second aio bdev open a file; two lvstores on the
		// same blocks then corrupt each other's metadata, which the
		// simulator does not model. Keep one aio bdev per file.
		return nil, false
	}
	if r.Intn(15) == 0 {
		p["filename"] = "@DIR@/nofile"
	}
	if r.Intn(6) != 0 {
		p["block_size"] = pick(r, []uint64{512, 4096, 4096, 1000})
	}
	return p, true
}

// fileOpen says whether an aio bdev has the file open.
func (g *Generator) fileOpen(file string) bool {
	for _, b := range g.view.bdevs {
		if b.Driver.Aio != nil && b.Driver.Aio.Filename == file {
			return true
		}
	}
	return false
}

func (g *Generator) aioDelete() (map[string]any, bool) {
	return g.deleteBdev("name", g.baseRef)
}

// existingName is a bdev's own name, for the modules that would wait for
// a missing base (the simulator does not model pending configurations).
func (g *Generator) existingName() (string, bool) {
	n := g.baseRef()
	b, ok := g.view.bdev(n)
	return n, ok && b.Name == n
}

func (g *Generator) splitCreate() (map[string]any, bool) {
	base, ok := g.existingName()
	if !ok {
		return nil, false
	}
	if b, _ := g.view.bdev(base); g.view.readOnlyLvol(b) {
		return nil, false
	}
	p := map[string]any{"base_bdev": base, "split_count": uint64(g.rng.Intn(4))}
	if g.rng.Intn(4) == 0 {
		p["split_size_mb"] = pick(g.rng, []uint64{1, 4, 8})
	}
	return p, true
}

func (g *Generator) splitDelete() (map[string]any, bool) {
	return g.deleteBdev("base_bdev", g.baseRef)
}

func (g *Generator) passthruCreate() (map[string]any, bool) {
	base, ok := g.existingName()
	if !ok {
		return nil, false
	}
	return map[string]any{"base_bdev_name": base, "name": pick(g.rng, ptNames)}, true
}

func (g *Generator) passthruDelete() (map[string]any, bool) {
	return g.deleteBdev("name", g.baseRef)
}

func (g *Generator) raidCreate() (map[string]any, bool) {
	r := g.rng
	level := pick(r, []string{"raid0", "raid1", "concat", "raid0", "raid1", "concat", "raid5f", "0", "bogus"})
	n := 1 + r.Intn(3)
	bases := make([]string, 0, n)
	for range n {
		b, ok := g.existingName()
		if !ok {
			return nil, false
		}
		bases = append(bases, b)
	}
	p := map[string]any{"name": pick(r, raidNames), "raid_level": level, "base_bdevs": bases}
	if level != "raid1" || r.Intn(5) == 0 {
		p["strip_size_kb"] = pick(r, []uint64{4, 64, 64, 128, 3, 0})
	}
	return p, true
}

func (g *Generator) raidDelete() (map[string]any, bool) {
	return g.deleteBdev("name", g.baseRef)
}

func (g *Generator) raidRemoveBase() (map[string]any, bool) {
	name := g.baseRef()
	// The raid over the base goes, or degrades: treat it as gone.
	var gone []*bdevView
	for _, b := range g.view.lookup(name) {
		for _, x := range g.view.stackedOn(b) {
			if x.Driver.Raid != nil {
				gone = append(gone, x)
			}
		}
	}
	if !g.view.removalSafe(gone...) {
		return nil, false
	}
	return map[string]any{"name": name}, true
}

func (g *Generator) getBdevs() (map[string]any, bool) {
	if g.rng.Intn(3) == 0 {
		return nil, true
	}
	return map[string]any{"name": g.bdevRef()}, true
}
