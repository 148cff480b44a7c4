package difftest

import (
	"math/rand"
	"strings"
)

// Names the generator draws from: a few ordinary ones, so that calls
// collide, and the boundaries SPDK checks (63 and 64 bytes, empty,
// multibyte, a slash).
var (
	lvsNames  = []string{"lvs0", "lvs1", "lvs2", "lvs0", "lvs1", strings.Repeat("L", 63), strings.Repeat("L", 64), "", "lvs\u00e9"}
	lvolNames = []string{"v0", "v1", "v2", "v3", "s0", "s1", "s2", "c0", "c1", "c2", "v0", "s0", "c0",
		"a/b", strings.Repeat("n", 63), strings.Repeat("n", 64), "", "\u00e9\u00e9", strings.Repeat("\u00e9", 31) + "x"}
	// Renames also try over-long ASCII names: SPDK cuts them.
	renameNames = append(append([]string{}, lvolNames...), strings.Repeat("r", 70), strings.Repeat("R", 100))
	mallocNames = []string{"m0", "m1", "m2", "m3", "m4", "m5"}
	aioNames    = []string{"a0", "a1", "a2"}
	aioFiles    = []string{"f0", "f1", "f2"}
	ptNames     = []string{"pt0", "pt1", "pt2"}
	raidNames   = []string{"r0", "r1", "r2"}
	sizesMiB    = []uint64{0, 1, 2, 3, 4, 5, 8, 16, 1000}
	// AioFileBytes is the size of each side's aio backing files.
	AioFileBytes int64 = 32 << 20
)

// missingUUID names nothing on either side.
const missingUUID = "00000000-dead-4bad-8bad-000000000001"

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

// upper turns a UUID token into its capitals form.
func upper(tok string) string { return strings.Replace(tok, "@U", "@u", 1) }

// lvolRef names an lvol the ways callers do, and some ways that name
// nothing or something else.
func (g *Generator) lvolRef() string {
	r, v := g.rng, &g.view
	if len(v.lvols) == 0 || r.Intn(10) == 0 {
		return g.missingRef()
	}
	l := pick(r, v.lvols)
	switch n := r.Intn(20); {
	case n < 8:
		return l.Alias
	case n < 14:
		return l.UUID
	case n < 16:
		return upper(l.UUID)
	case n < 18:
		if b, ok := v.bdev(l.UUID); ok && len(b.Aliases) > 0 {
			return b.Aliases[0]
		}
		return l.Alias
	default:
		return l.Lvs.Name + "/" + l.Name
	}
}

// bdevRef names any bdev by name, alias or UUID, or nothing.
func (g *Generator) bdevRef() string {
	r, v := g.rng, &g.view
	if len(v.bdevs) == 0 || r.Intn(10) == 0 {
		return g.missingRef()
	}
	b := pick(r, v.bdevs)
	switch n := r.Intn(10); {
	case n < 6:
		return b.Name
	case n < 8 && len(b.Aliases) > 0:
		return b.Aliases[0]
	case n < 9:
		return b.UUID
	default:
		return upper(b.UUID)
	}
}

// baseRef prefers bdevs that are not lvols, for modules to stack on.
func (g *Generator) baseRef() string {
	var names []string
	for _, b := range g.view.bdevs {
		if b.Driver.Lvol == nil || g.rng.Intn(4) == 0 {
			names = append(names, b.Name)
		}
	}
	if len(names) == 0 || g.rng.Intn(8) == 0 {
		return g.bdevRef()
	}
	return pick(g.rng, names)
}

func (g *Generator) missingRef() string {
	switch g.rng.Intn(6) {
	case 0:
		return missingUUID
	case 1:
		return ""
	case 2:
		return pick(g.rng, lvsNames) + "/nope"
	case 3:
		return pick(g.rng, mallocNames)
	case 4:
		if len(g.view.stores) > 0 {
			return pick(g.rng, g.view.stores).Name
		}
	}
	return "nope"
}

// lvsRef names an lvstore by name (or a name that is not one).
func (g *Generator) lvsName() string {
	if len(g.view.stores) > 0 && g.rng.Intn(4) != 0 {
		return pick(g.rng, g.view.stores).Name
	}
	return pick(g.rng, lvsNames)
}

// storeSel fills the "uuid | lvs_name" pair, sometimes both or neither.
func (g *Generator) storeSel(p map[string]any, uuidKey string) {
	r := g.rng
	var s *lvstoreView
	if len(g.view.stores) > 0 {
		s = &g.view.stores[r.Intn(len(g.view.stores))]
	}
	switch n := r.Intn(20); {
	case n < 9 && s != nil:
		p["lvs_name"] = s.Name
	case n < 15 && s != nil:
		p[uuidKey] = s.UUID
	case n < 16 && s != nil:
		p[uuidKey] = upper(s.UUID)
	case n < 17:
		p["lvs_name"] = pick(r, lvsNames)
	case n < 18 && s != nil:
		p["lvs_name"], p[uuidKey] = s.Name, s.UUID
	case n < 19:
		p[uuidKey] = missingUUID
	}
}
