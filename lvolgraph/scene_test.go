package lvolgraph

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// scene is a small model of one SPDK target for tests: lvstores, lvols and
// malloc bdevs, with SPDK's delete semantics, rendered as the listings SPDK
// would answer (in the recorded shapes).
type scene struct {
	stores  []*sceneStore
	mallocs []string
	lvols   map[spdkrpc.LvolUUID]*sceneLvol
	order   []spdkrpc.LvolUUID // creation order, for stable listings
}

type sceneStore struct {
	name, base string
	uuid       spdkrpc.LvstoreUUID
}

type sceneLvol struct {
	uuid     spdkrpc.LvolUUID
	name     string
	store    *sceneStore
	snapshot bool
	thin     bool
	clusters uint64
	parent   spdkrpc.LvolUUID // a snapshot of the same lvstore
	ext      spdkrpc.BdevUUID // the external snapshot of an esnap clone
}

func newScene() *scene { return &scene{lvols: map[spdkrpc.LvolUUID]*sceneLvol{}} }

// fakeUUID derives a stable UUID from a seed, so fixtures do not churn.
func fakeUUID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (s *scene) store(name string) *sceneStore {
	for _, st := range s.stores {
		if st.name == name {
			return st
		}
	}
	base := "Malloc" + fmt.Sprint(len(s.stores))
	st := &sceneStore{name: name, base: base, uuid: spdkrpc.LvstoreUUID(fakeUUID("lvs:" + name))}
	s.stores = append(s.stores, st)
	return st
}

func (s *scene) malloc(name string) spdkrpc.BdevUUID {
	s.mallocs = append(s.mallocs, name)
	return spdkrpc.BdevUUID(fakeUUID("bdev:" + name))
}

// add creates an lvol; parent is the name of a snapshot in the same
// lvstore, or "" for none.
func (s *scene) add(lvs, name string, snapshot bool, parent string) *sceneLvol {
	st := s.store(lvs)
	l := &sceneLvol{uuid: spdkrpc.LvolUUID(fakeUUID("lvol:" + lvs + "/" + name)), name: name, store: st,
		snapshot: snapshot, thin: true, clusters: uint64(len(name) % 5)}
	if parent != "" {
		p := s.byName(lvs, parent)
		if p == nil {
			panic("scene: no parent " + parent)
		}
		l.parent = p.uuid
	}
	s.lvols[l.uuid] = l
	s.order = append(s.order, l.uuid)
	return l
}

// esnap creates an esnap clone of a bdev (by UUID).
func (s *scene) esnap(lvs, name string, ext spdkrpc.BdevUUID) *sceneLvol {
	l := s.add(lvs, name, false, "")
	l.ext = ext
	return l
}

func (s *scene) byName(lvs, name string) *sceneLvol {
	for _, u := range s.order {
		if l := s.lvols[u]; l != nil && l.store.name == lvs && l.name == name {
			return l
		}
	}
	return nil
}

func (s *scene) clones(u spdkrpc.LvolUUID) []*sceneLvol {
	return s.where(func(l *sceneLvol) bool { return l.parent == u })
}

func (s *scene) esnapClones(b spdkrpc.BdevUUID) []*sceneLvol {
	return s.where(func(l *sceneLvol) bool { return l.ext == b })
}

func (s *scene) where(f func(*sceneLvol) bool) []*sceneLvol {
	var out []*sceneLvol
	for _, c := range s.order {
		if l := s.lvols[c]; l != nil && f(l) {
			out = append(out, l)
		}
	}
	return out
}

var (
	errModelEPERM  = errors.New("operation not permitted")
	errModelENODEV = errors.New("no such device")
	errModelHang   = errors.New("delete of an esnap base: spdk_tgt would hang")
)

// delete applies bdev_lvol_delete as SPDK v26.05 does: EPERM with more than
// one clone, a merge into the only clone, ENODEV when gone, and a hang for
// the base of an esnap clone.
func (s *scene) delete(u spdkrpc.LvolUUID) error {
	l := s.lvols[u]
	if l == nil {
		return errModelENODEV
	}
	if len(s.esnapClones(spdkrpc.BdevUUID(u))) > 0 {
		return errModelHang
	}
	cs := s.clones(u)
	if len(cs) > 1 {
		return errModelEPERM
	}
	if len(cs) == 1 {
		cs[0].parent, cs[0].ext = l.parent, l.ext
	}
	delete(s.lvols, u)
	return nil
}

// ancestors returns the chain above u, crossing lvol esnap parents.
func (s *scene) ancestors(u spdkrpc.LvolUUID) []spdkrpc.LvolUUID {
	var out []spdkrpc.LvolUUID
	for l := s.lvols[u]; l != nil; {
		next := l.parent
		if next == "" && l.ext != "" {
			next = spdkrpc.LvolUUID(l.ext)
		}
		if next == "" || len(out) > len(s.lvols) {
			break
		}
		out = append(out, next)
		l = s.lvols[next]
	}
	return out
}

// listings renders the scene as SPDK's three answers.
func (s *scene) listings() ([]spdkrpc.Lvstore, []spdkrpc.Lvol, []spdkrpc.Bdev) {
	const cluster = 4 << 20
	var stores []spdkrpc.Lvstore
	var lvols []spdkrpc.Lvol
	var bdevs []spdkrpc.Bdev
	for _, st := range s.stores {
		stores = append(stores, spdkrpc.Lvstore{UUID: st.uuid, Name: spdkrpc.LvstoreName(st.name), BaseBdev: spdkrpc.BdevName(st.base),
			TotalDataClusters: 1023, FreeClusters: 1000, BlockSize: 4096, ClusterSize: cluster, MaxGrowableSize: 1 << 40})
		bdevs = append(bdevs, spdkrpc.Bdev{Name: spdkrpc.BdevName(st.base), Aliases: []string{fakeUUID("bdev:" + st.base)},
			ProductName: "Malloc disk", BlockSize: 4096, NumBlocks: 1 << 20, UUID: spdkrpc.BdevUUID(fakeUUID("bdev:" + st.base)), Claimed: true,
			DriverSpecific: &spdkrpc.BdevDriverSpecific{}})
	}
	for _, m := range s.mallocs {
		u := fakeUUID("bdev:" + m)
		bdevs = append(bdevs, spdkrpc.Bdev{Name: spdkrpc.BdevName(m), Aliases: []string{u}, ProductName: "Malloc disk",
			BlockSize: 4096, NumBlocks: 4096, UUID: spdkrpc.BdevUUID(u), Claimed: len(s.esnapClones(spdkrpc.BdevUUID(u))) > 0,
			DriverSpecific: &spdkrpc.BdevDriverSpecific{}})
	}
	for _, u := range s.order {
		l := s.lvols[u]
		if l == nil {
			continue
		}
		alias := spdkrpc.MakeAlias(spdkrpc.LvstoreName(l.store.name), spdkrpc.LvolName(l.name))
		isClone := l.parent != ""
		lvols = append(lvols, spdkrpc.Lvol{Alias: alias, UUID: u, Name: spdkrpc.LvolName(l.name), IsThinProvisioned: l.thin,
			IsSnapshot: l.snapshot, IsClone: isClone, IsEsnapClone: l.ext != "", NumAllocatedClusters: l.clusters,
			Lvs: spdkrpc.LvstoreRef{Name: spdkrpc.LvstoreName(l.store.name), UUID: l.store.uuid}})
		info := &spdkrpc.LvolDriverInfo{LvolStoreUUID: l.store.uuid, BaseBdev: spdkrpc.BdevName(l.store.base), ThinProvision: l.thin,
			NumAllocatedClusters: l.clusters, Snapshot: l.snapshot, Clone: isClone, EsnapClone: l.ext != "", ExternalSnapshotName: l.ext}
		if isClone {
			info.BaseSnapshot = spdkrpc.LvolName(s.lvols[l.parent].name)
		}
		for _, c := range s.clones(u) {
			info.Clones = append(info.Clones, spdkrpc.LvolName(c.name))
		}
		bdevs = append(bdevs, spdkrpc.Bdev{Name: spdkrpc.BdevName(u), Aliases: []string{string(alias)}, ProductName: "Logical Volume",
			BlockSize: 4096, NumBlocks: 4096, UUID: spdkrpc.BdevUUID(u), DriverSpecific: &spdkrpc.BdevDriverSpecific{Lvol: info}})
	}
	return stores, lvols, bdevs
}

func (s *scene) inputs() Inputs {
	st, lv, bd := s.listings()
	return Inputs{Lvstores: st, Lvols: lv, Bdevs: bd}
}

func (s *scene) graph() *Graph { return Build(1, testTime, s.inputs()) }

// fixture is the file form of the three listings, as SPDK answers them.
type fixture struct {
	Lvstores json.RawMessage `json:"bdev_lvol_get_lvstores"`
	Lvols    json.RawMessage `json:"bdev_lvol_get_lvols"`
	Bdevs    json.RawMessage `json:"bdev_get_bdevs"`
}

// decodeFixture decodes the three listings of a fixture file.
func decodeFixture(data []byte) (Inputs, error) {
	var f fixture
	var in Inputs
	if err := json.Unmarshal(data, &f); err != nil {
		return in, err
	}
	for _, p := range []struct {
		raw json.RawMessage
		dst any
	}{{f.Lvstores, &in.Lvstores}, {f.Lvols, &in.Lvols}, {f.Bdevs, &in.Bdevs}} {
		if len(p.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(p.raw, p.dst); err != nil {
			return in, err
		}
	}
	return in, nil
}

func names(ls []*Lvol) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = string(l.Name)
	}
	sort.Strings(out)
	return out
}

func sortedStrings[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	slices.Sort(out)
	return out
}

// snapshot takes a snapshot of lvol u as SPDK does: the snapshot takes u's
// parent and u becomes its clone.
func (s *scene) snapshot(u spdkrpc.LvolUUID, name string) *sceneLvol {
	l := s.lvols[u]
	snap := s.add(l.store.name, name, true, "")
	snap.parent, snap.ext, snap.clusters = l.parent, l.ext, l.clusters
	l.parent, l.ext, l.clusters = snap.uuid, "", 0
	return snap
}

// rename renames an lvol (SPDK refuses this for snapshots).
func (s *scene) rename(u spdkrpc.LvolUUID, name string) { s.lvols[u].name = name }
