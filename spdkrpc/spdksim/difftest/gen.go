package difftest

import (
	"encoding/json"
	"math/rand"
	"sort"
)

// Step is one request in normalized form: UUIDs as tokens, the aio
// directory as @DIR@.
type Step struct {
	Method string
	Params json.RawMessage // nil: no params member
}

func (s Step) String() string {
	if s.Params == nil {
		return s.Method
	}
	return s.Method + " " + string(s.Params)
}

// Generator produces a seeded random sequence of steps. It reads the
// simulator's state (SetView) before each step, to name existing objects
// and to keep the calls that hang or crash SPDK out of the stream.
type Generator struct {
	rng  *rand.Rand
	view view
	// ratios remembers the md-pages ratio each lvstore was created with,
	// by UUID token: the clone guard needs the page budget.
	ratios map[string]uint64
	opIDs  uint32
	// wedged holds the UUID tokens of lvols a failed lvstore creation
	// left held: deleting them never answers.
	wedged map[string]bool
	// readOnly holds the UUID tokens of lvols set read-only (snapshots
	// show as such in the listings; these do not).
	readOnly map[string]bool
	// emptySplits holds the UUID tokens of bdevs under a split that made
	// no part: removing them never answers.
	emptySplits map[string]bool
}

// NewGenerator returns the generator of seed.
func NewGenerator(seed int64) *Generator {
	return &Generator{rng: rand.New(rand.NewSource(seed)), ratios: map[string]uint64{}, wedged: map[string]bool{}, readOnly: map[string]bool{}, emptySplits: map[string]bool{}}
}

type genFunc func(g *Generator) (map[string]any, bool)

type genMethod struct {
	name   string
	weight int
	fn     genFunc
}

// methodTable is every method the stream uses, with its weight.
var methodTable = []genMethod{
	{"bdev_malloc_create", 8, (*Generator).mallocCreate},
	{"bdev_malloc_delete", 2, (*Generator).mallocDelete},
	{"bdev_aio_create", 3, (*Generator).aioCreate},
	{"bdev_aio_delete", 1, (*Generator).aioDelete},
	{"bdev_split_create", 2, (*Generator).splitCreate},
	{"bdev_split_delete", 1, (*Generator).splitDelete},
	{"bdev_passthru_create", 2, (*Generator).passthruCreate},
	{"bdev_passthru_delete", 1, (*Generator).passthruDelete},
	{"bdev_raid_create", 2, (*Generator).raidCreate},
	{"bdev_raid_delete", 1, (*Generator).raidDelete},
	{"bdev_raid_remove_base_bdev", 1, (*Generator).raidRemoveBase},
	{"bdev_get_bdevs", 2, (*Generator).getBdevs},
	{"bdev_lvol_create_lvstore", 7, (*Generator).createLvstore},
	{"bdev_lvol_delete_lvstore", 1, (*Generator).deleteLvstore},
	{"bdev_lvol_rename_lvstore", 2, (*Generator).renameLvstore},
	{"bdev_lvol_grow_lvstore", 1, (*Generator).growLvstore},
	{"bdev_lvol_get_lvstores", 1, (*Generator).getLvstores},
	{"bdev_lvol_create", 14, (*Generator).createLvol},
	{"bdev_lvol_snapshot", 7, (*Generator).snapshot},
	{"bdev_lvol_clone", 6, (*Generator).clone},
	{"bdev_lvol_clone_bdev", 4, (*Generator).cloneBdev},
	{"bdev_lvol_rename", 4, (*Generator).rename},
	{"bdev_lvol_resize", 4, (*Generator).resize},
	{"bdev_lvol_set_read_only", 2, (*Generator).lvolOnly},
	{"bdev_lvol_inflate", 3, (*Generator).lvolOnly},
	{"bdev_lvol_decouple_parent", 3, (*Generator).lvolOnly},
	{"bdev_lvol_set_parent", 3, (*Generator).setParent},
	{"bdev_lvol_set_parent_bdev", 3, (*Generator).setParentBdev},
	{"bdev_lvol_delete", 6, (*Generator).deleteLvol},
	{"bdev_lvol_get_lvols", 1, (*Generator).getLvols},
	{"bdev_lvol_start_shallow_copy", 1, (*Generator).startShallowCopy},
	{"bdev_lvol_check_shallow_copy", 1, (*Generator).checkShallowCopy},
}

var totalWeight = func() int {
	n := 0
	for _, m := range methodTable {
		n += m.weight
	}
	return n
}()

// Next returns the next step. It draws until a generator accepts: a
// method may decline when the state offers nothing safe to do.
func (g *Generator) Next() Step {
	for {
		n := g.rng.Intn(totalWeight)
		for _, m := range methodTable {
			if n >= m.weight {
				n -= m.weight
				continue
			}
			p, ok := m.fn(g)
			if !ok {
				break
			}
			return Step{Method: m.name, Params: g.encode(m.name, p)}
		}
	}
}

// encode marshals p, and now and then breaks it the ways a careless
// caller does: an unknown key, a wrong type, a missing member.
func (g *Generator) encode(method string, p map[string]any) json.RawMessage {
	if p == nil {
		return nil
	}
	if g.rng.Intn(25) == 0 && !unsafeToBreak[method] {
		// Keys in sorted order: a seed must always break the same one.
		keys := make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		switch g.rng.Intn(3) {
		case 0:
			p["bogus"] = 1
		case 1:
			for _, k := range keys {
				if _, isStr := p[k].(string); isStr {
					p[k] = 7
					break
				}
			}
		default:
			if len(keys) > 0 {
				delete(p, keys[g.rng.Intn(len(keys))])
			}
		}
	}
	b, _ := json.Marshal(p)
	return b
}

// unsafeToBreak lists methods whose broken params could still hit a
// dangerous path (a dropped key changes what is looked up).
var unsafeToBreak = map[string]bool{
	"bdev_lvol_delete_lvstore":  true,
	"bdev_lvol_set_parent":      true,
	"bdev_lvol_set_parent_bdev": true,
	"bdev_lvol_clone_bdev":      true,
}

// Learn tells the generator the simulator's normalized reply to a step,
// with the state it was made in.
func (g *Generator) Learn(s Step, reply string) {
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(reply), &r) != nil {
		return
	}
	if r.Error != nil && s.Method == "bdev_lvol_create_lvstore" && r.Error.Message == "Input/output error" {
		var p struct {
			Bdev string `json:"bdev_name"`
		}
		if json.Unmarshal(s.Params, &p) == nil {
			for _, b := range g.view.lookup(p.Bdev) {
				g.wedged[b.UUID] = true
			}
		}
	}
	if s.Method == "bdev_lvol_set_read_only" && (r.Result != nil || r.Error != nil && r.Error.Message == "Input/output error") {
		// A failed sync still leaves the lvol read-only in memory.
		var p struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(s.Params, &p) == nil {
			for _, b := range g.view.lookup(p.Name) {
				g.readOnly[b.UUID] = true
			}
		}
	}
	if r.Result == nil {
		return
	}
	if s.Method == "bdev_split_create" || s.Method == "bdev_split_delete" {
		g.learnSplit(s, string(r.Result))
	}
	switch s.Method {
	case "bdev_lvol_create_lvstore":
		var tok string
		var p struct {
			Ratio uint64 `json:"num_md_pages_per_cluster_ratio"`
		}
		if json.Unmarshal(r.Result, &tok) == nil && json.Unmarshal(s.Params, &p) == nil {
			if p.Ratio == 0 {
				p.Ratio = 100
			}
			g.ratios[tok] = p.Ratio
		}
	case "bdev_lvol_start_shallow_copy":
		g.opIDs++
	}
}

// learnSplit tracks the bases of splits that made no part.
func (g *Generator) learnSplit(s Step, result string) {
	var p struct {
		Base string `json:"base_bdev"`
	}
	if json.Unmarshal(s.Params, &p) != nil {
		return
	}
	for _, b := range g.view.lookup(p.Base) {
		switch {
		case s.Method == "bdev_split_delete":
			delete(g.emptySplits, b.UUID)
		case result == "[]":
			g.emptySplits[b.UUID] = true
		}
	}
}
