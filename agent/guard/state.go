package guard

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Read is one fresh read of SPDK, the raw results of the three listings.
// The agent takes it under the guard's lock, so nothing passing through the
// agent changes SPDK between the read and the call it decides.
type Read struct {
	Bdevs    json.RawMessage // bdev_get_bdevs
	Lvstores json.RawMessage // bdev_lvol_get_lvstores
	Lvols    json.RawMessage // bdev_lvol_get_lvols
}

// Bdev is what the guard reads of one element of bdev_get_bdevs.
type Bdev struct {
	Name      string   `json:"name"`
	Aliases   []string `json:"aliases"`
	Product   string   `json:"product_name"`
	BlockSize uint64   `json:"block_size"`
	NumBlocks uint64   `json:"num_blocks"`
	UUID      string   `json:"uuid"`
	Claimed   bool     `json:"claimed"`
	ClaimType string   `json:"claim_type"`
	// Driver is driver_specific, one member per module.
	Driver map[string]json.RawMessage `json:"driver_specific"`

	lvol  *lvolDriver
	bases []string // names (or UUIDs) of the bdevs this one is built on
	raid  *raidDriver
}

// Size is the bdev's size in bytes.
func (b *Bdev) Size() uint64 { return b.BlockSize * b.NumBlocks }

type lvolDriver struct {
	Store        string   `json:"lvol_store_uuid"`
	BaseBdev     string   `json:"base_bdev"`
	Snapshot     bool     `json:"snapshot"`
	Clone        bool     `json:"clone"`
	BaseSnapshot string   `json:"base_snapshot"`
	Clones       []string `json:"clones"`
	EsnapClone   bool     `json:"esnap_clone"`
	External     string   `json:"external_snapshot_name"`
}

type raidDriver struct {
	Level       string `json:"raid_level"`
	Operational int    `json:"num_base_bdevs_operational"`
	Members     []struct {
		Name *string `json:"name"`
		UUID string  `json:"uuid"`
	} `json:"base_bdevs_list"`
}

// Lvstore is one element of bdev_lvol_get_lvstores.
type Lvstore struct {
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	BaseBdev    string `json:"base_bdev"`
	ClusterSize uint64 `json:"cluster_size"`
}

// Lvol is one element of bdev_lvol_get_lvols (which lists degraded lvols,
// those without a bdev, too).
type Lvol struct {
	Alias     string `json:"alias"`
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	Snapshot  bool   `json:"is_snapshot"`
	Degraded  bool   `json:"is_degraded"`
	Allocated uint64 `json:"num_allocated_clusters"`
	Lvs       struct {
		Name string `json:"name"`
		UUID string `json:"uuid"`
	} `json:"lvs"`

	bdev *Bdev // nil for a degraded lvol
}

// State is a Read decoded and indexed the ways SPDK looks objects up.
type State struct {
	bdevs    []*Bdev
	names    map[string]*Bdev // every bdev name and alias (spdk_bdev_get_by_name)
	uuids    map[string]*Bdev // bdev UUIDs, lower case
	lvols    map[string]*Lvol // lvol UUIDs, lower case
	byNames  map[[2]string]*Lvol
	stores   []*Lvstore
	storeIdx map[string]*Lvstore // "uuid:"+lower UUID and "name:"+name

	deps     map[Obj][]Obj // object -> what stands directly on it
	issues   map[string][]string
	degraded map[string][]string
}

// NewState decodes a fresh read. A listing that does not decode is an
// error: the guard never decides on a partial read.
func NewState(r Read) (*State, error) {
	var bdevs []*Bdev
	var stores []*Lvstore
	var lvols []*Lvol
	for _, l := range []struct {
		what string
		raw  json.RawMessage
		v    any
	}{{"bdev_get_bdevs", r.Bdevs, &bdevs}, {"bdev_lvol_get_lvstores", r.Lvstores, &stores}, {"bdev_lvol_get_lvols", r.Lvols, &lvols}} {
		if err := json.Unmarshal(l.raw, l.v); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", l.what, err)
		}
	}
	s := &State{
		names: map[string]*Bdev{}, uuids: map[string]*Bdev{}, lvols: map[string]*Lvol{},
		byNames: map[[2]string]*Lvol{}, storeIdx: map[string]*Lvstore{},
		deps: map[Obj][]Obj{}, issues: map[string][]string{}, degraded: map[string][]string{},
	}
	for _, b := range bdevs {
		if b == nil {
			return nil, fmt.Errorf("decoding bdev_get_bdevs: null element")
		}
		if err := b.decodeDriver(); err != nil {
			return nil, fmt.Errorf("decoding bdev_get_bdevs: bdev %s: %w", b.Name, err)
		}
		s.bdevs = append(s.bdevs, b)
		s.names[b.Name] = b
		for _, a := range b.Aliases {
			s.names[a] = b
		}
		if b.UUID != "" {
			s.uuids[strings.ToLower(b.UUID)] = b
		}
	}
	for _, st := range stores {
		if st == nil {
			return nil, fmt.Errorf("decoding bdev_lvol_get_lvstores: null element")
		}
		s.stores = append(s.stores, st)
		s.storeIdx["uuid:"+strings.ToLower(st.UUID)] = st
		s.storeIdx["name:"+st.Name] = st
	}
	for _, l := range lvols {
		if l == nil {
			return nil, fmt.Errorf("decoding bdev_lvol_get_lvols: null element")
		}
		s.lvols[strings.ToLower(l.UUID)] = l
		s.byNames[[2]string{l.Lvs.Name, l.Name}] = l
		if b, ok := s.names[strings.ToLower(l.UUID)]; ok && b.lvol != nil {
			l.bdev = b
		}
	}
	// An lvol bdev that bdev_lvol_get_lvols does not list (a listing
	// taken around a change) is still an lvol: it is kept, so that every
	// lookup finds it and its lvstore counts as untrustworthy.
	for _, b := range s.bdevs {
		if b.lvol == nil {
			continue
		}
		if _, ok := s.lvols[strings.ToLower(b.Name)]; ok {
			continue
		}
		l := &Lvol{UUID: strings.ToLower(b.Name), Snapshot: b.lvol.Snapshot, bdev: b}
		l.Lvs.UUID = b.lvol.Store
		if st, ok := s.LvstoreByUUID(b.lvol.Store); ok {
			l.Lvs.Name = st.Name
		}
		for _, a := range b.Aliases {
			if _, name, ok := strings.Cut(a, "/"); ok {
				l.Name = name
				break
			}
		}
		s.lvols[l.UUID] = l
		s.issue(b.lvol.Store, fmt.Sprintf("lvol bdev %s is not listed by bdev_lvol_get_lvols", b.Name))
	}
	s.link()
	return s, nil
}

// decodeDriver reads the driver_specific parts that say what a bdev is
// built on. Modules the guard does not know are scanned for the members
// SPDK's vbdev modules use for their base ("base_bdev", "base_bdev_name",
// ...); whatever they miss, the bdev's claim still tells.
func (b *Bdev) decodeDriver() error {
	for mod, raw := range b.Driver {
		switch mod {
		case "lvol":
			var l lvolDriver
			if err := json.Unmarshal(raw, &l); err != nil {
				return fmt.Errorf("driver_specific.lvol: %w", err)
			}
			b.lvol = &l
		case "raid":
			var r raidDriver
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("driver_specific.raid: %w", err)
			}
			b.raid = &r
			for _, m := range r.Members {
				switch {
				case m.Name != nil && *m.Name != "":
					b.bases = append(b.bases, *m.Name)
				case m.UUID != "" && m.UUID != zeroUUID:
					b.bases = append(b.bases, m.UUID)
				}
			}
		default:
			b.bases = append(b.bases, baseNames(raw)...)
		}
	}
	sort.Strings(b.bases)
	return nil
}

const zeroUUID = "00000000-0000-0000-0000-000000000000"

// baseKeys are the driver_specific members in which SPDK's stacking
// modules name the bdevs beneath them.
var baseKeys = map[string]bool{
	"base_bdev": true, "base_bdev_name": true, "base_name": true,
	"cache_bdev_name": true, "core_bdev_name": true, "base_bdevs": true,
}

// baseNames returns the strings under baseKeys anywhere in v.
func baseNames(raw json.RawMessage) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []string
	var walk func(v any, base bool)
	walk = func(v any, base bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(e, baseKeys[k])
			}
		case []any:
			for _, e := range v {
				walk(e, base)
			}
		case string:
			if base && v != "" {
				out = append(out, v)
			}
		}
	}
	walk(v, false)
	return out
}

// Bdevs returns every bdev, in SPDK's order.
func (s *State) Bdevs() []*Bdev { return s.bdevs }

// Lvstores returns every lvstore, in SPDK's order.
func (s *State) Lvstores() []*Lvstore { return s.stores }

// BdevByName is spdk_bdev_get_by_name: a bdev name or alias, compared
// exactly. Lvol bdevs are named by their UUID in lower case; malloc and
// most others carry their UUID as an alias.
func (s *State) BdevByName(name string) (*Bdev, bool) {
	b, ok := s.names[name]
	return b, ok
}

// LvolOfBdev returns the lvol a bdev is (vbdev_lvol_get_from_bdev).
func (s *State) LvolOfBdev(b *Bdev) (*Lvol, bool) {
	if b == nil || b.lvol == nil {
		return nil, false
	}
	l, ok := s.lvols[strings.ToLower(b.Name)]
	return l, ok
}

// LvolByBdevName is how most lvol methods find their lvol: a bdev name or
// alias whose bdev is an lvol.
func (s *State) LvolByBdevName(name string) (*Lvol, bool) {
	b, ok := s.BdevByName(name)
	if !ok {
		return nil, false
	}
	return s.LvolOfBdev(b)
}

// LvolForDelete is bdev_lvol_delete's lookup, which alone falls back past
// the bdev layer (to find degraded lvols): a bdev name or alias that is an
// lvol; else an lvol UUID in any case; else "lvstore/lvol" names, split at
// the first '/'.
func (s *State) LvolForDelete(name string) (*Lvol, bool) {
	if b, ok := s.BdevByName(name); ok {
		if l, ok := s.LvolOfBdev(b); ok {
			return l, true
		}
	}
	if spdkrpc.IsUUID(name) {
		if l, ok := s.lvols[strings.ToLower(name)]; ok {
			return l, true
		}
	}
	if lvs, lvol, ok := strings.Cut(name, "/"); ok {
		if l, ok := s.byNames[[2]string{lvs, lvol}]; ok {
			return l, true
		}
	}
	return nil, false
}

// LvstoreByUUID is vbdev_get_lvol_store_by_uuid: the string parsed as a
// UUID (any case, as spdk_uuid_parse: spdkrpc.IsUUID's shape) and compared.
func (s *State) LvstoreByUUID(u string) (*Lvstore, bool) {
	if !spdkrpc.IsUUID(u) {
		return nil, false
	}
	st, ok := s.storeIdx["uuid:"+strings.ToLower(u)]
	return st, ok
}

// LvstoreByName is vbdev_get_lvol_store_by_name: the name compared exactly.
func (s *State) LvstoreByName(n string) (*Lvstore, bool) {
	st, ok := s.storeIdx["name:"+n]
	return st, ok
}

// LvolsIn returns the lvols of an lvstore, degraded ones included.
func (s *State) LvolsIn(st *Lvstore) []*Lvol {
	var out []*Lvol
	for _, l := range s.lvols {
		if strings.EqualFold(l.Lvs.UUID, st.UUID) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UUID < out[j].UUID })
	return out
}
