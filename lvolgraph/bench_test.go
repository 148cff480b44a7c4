package lvolgraph

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// genInputs makes listings of about n lvols in one lvstore, shaped like a
// busy node: 16 backing images, each shared by many replicas; every replica
// a chain of three snapshots and a head, half of them on a backing image.
func genInputs(n int) Inputs {
	const cluster = 4 << 20
	lvs := spdkrpc.Lvstore{UUID: spdkrpc.LvstoreUUID(fakeUUID("bench-lvs")), Name: "lvs0", BaseBdev: "nvme0n1",
		TotalDataClusters: 1 << 20, FreeClusters: 1 << 19, BlockSize: 4096, ClusterSize: cluster, MaxGrowableSize: 1 << 42}
	var in Inputs
	in.Lvstores = []spdkrpc.Lvstore{lvs}
	in.Bdevs = append(in.Bdevs, spdkrpc.Bdev{Name: "nvme0n1", Aliases: []string{fakeUUID("nvme0n1")}, ProductName: "NVMe disk",
		BlockSize: 4096, NumBlocks: 1 << 30, UUID: spdkrpc.BdevUUID(fakeUUID("nvme0n1")), Claimed: true, DriverSpecific: &spdkrpc.BdevDriverSpecific{}})
	type node struct {
		name     string
		snapshot bool
		parent   int // index into nodes, -1 for none
		clones   []int
	}
	var nodes []node
	add := func(name string, snapshot bool, parent int) int {
		nodes = append(nodes, node{name: name, snapshot: snapshot, parent: parent})
		i := len(nodes) - 1
		if parent >= 0 {
			nodes[parent].clones = append(nodes[parent].clones, i)
		}
		return i
	}
	var bis []int
	for i := range 16 {
		bis = append(bis, add(fmt.Sprintf("bi-img%d-disk-%s", i, lvs.UUID), true, -1))
	}
	for r := 0; len(nodes) < n; r++ {
		rep := fmt.Sprintf("pvc-%08x-r-%04x", r*2654435761, r%65536)
		parent := -1
		if r%2 == 0 {
			parent = bis[r%len(bis)]
		}
		for s := range 3 {
			parent = add(fmt.Sprintf("%s-snap-%d", rep, s), true, parent)
		}
		add(rep, false, parent)
	}
	for i, nd := range nodes {
		u := spdkrpc.LvolUUID(fakeUUID(fmt.Sprint("bench-lvol-", i)))
		alias := spdkrpc.MakeAlias(lvs.Name, spdkrpc.LvolName(nd.name))
		info := &spdkrpc.LvolDriverInfo{LvolStoreUUID: lvs.UUID, BaseBdev: lvs.BaseBdev, ThinProvision: true,
			NumAllocatedClusters: uint64(i % 7), Snapshot: nd.snapshot, Clone: nd.parent >= 0}
		if nd.parent >= 0 {
			info.BaseSnapshot = spdkrpc.LvolName(nodes[nd.parent].name)
		}
		for _, c := range nd.clones {
			info.Clones = append(info.Clones, spdkrpc.LvolName(nodes[c].name))
		}
		in.Lvols = append(in.Lvols, spdkrpc.Lvol{Alias: alias, UUID: u, Name: spdkrpc.LvolName(nd.name), IsThinProvisioned: true,
			IsSnapshot: nd.snapshot, IsClone: nd.parent >= 0, NumAllocatedClusters: info.NumAllocatedClusters,
			Lvs: spdkrpc.LvstoreRef{Name: lvs.Name, UUID: lvs.UUID}})
		in.Bdevs = append(in.Bdevs, spdkrpc.Bdev{Name: spdkrpc.BdevName(u), Aliases: []string{string(alias)}, ProductName: "Logical Volume",
			BlockSize: 4096, NumBlocks: 2621440, UUID: spdkrpc.BdevUUID(u), DriverSpecific: &spdkrpc.BdevDriverSpecific{Lvol: info}})
	}
	return in
}

// benchJSON holds the three rendered listings per size, made once.
var benchJSON = struct {
	sync.Mutex
	m map[int][3][]byte
}{m: map[int][3][]byte{}}

func listingsJSON(n int) [3][]byte {
	benchJSON.Lock()
	defer benchJSON.Unlock()
	if j, ok := benchJSON.m[n]; ok {
		return j
	}
	in := genInputs(n)
	wire := make([]wireBdev, len(in.Bdevs))
	for i, b := range in.Bdevs {
		wire[i] = toWire(b)
	}
	var j [3][]byte
	for i, v := range []any{in.Lvstores, in.Lvols, wire} {
		var err error
		if j[i], err = json.Marshal(v); err != nil {
			panic(err)
		}
	}
	benchJSON.m[n] = j
	return j
}

func decodeListings(tb testing.TB, j [3][]byte) Inputs {
	var in Inputs
	for i, dst := range []any{&in.Lvstores, &in.Lvols, &in.Bdevs} {
		if err := json.Unmarshal(j[i], dst); err != nil {
			tb.Fatal(err)
		}
	}
	return in
}

var sizes = []int{10_000, 100_000}

// BenchmarkDecode is the baseline BenchmarkBuild is compared with: decoding
// the three listings into the spdkrpc types.
func BenchmarkDecode(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			j := listingsJSON(n)
			b.SetBytes(int64(len(j[0]) + len(j[1]) + len(j[2])))
			b.ReportMetric(float64(len(j[2]))/float64(n), "bdev-json-B/lvol")
			for b.Loop() {
				decodeListings(b, j)
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			in := decodeListings(b, listingsJSON(n))
			for b.Loop() {
				Build(1, testTime, in)
			}
		})
	}
}

// BenchmarkBuildOverDecode times decoding and building in the same
// iterations and reports how much building adds to decoding (goal: 30%).
func BenchmarkBuildOverDecode(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			j := listingsJSON(n)
			var dec, build time.Duration
			for b.Loop() {
				t0 := time.Now()
				in := decodeListings(b, j)
				t1 := time.Now()
				Build(1, testTime, in)
				dec, build = dec+t1.Sub(t0), build+time.Since(t1)
			}
			b.ReportMetric(100*float64(build)/float64(dec), "build-%-of-decode")
		})
	}
}

// BenchmarkRetained reports the heap a graph keeps per lvol once the
// decoded listings are dropped (strings it shares with them included).
func BenchmarkRetained(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			j := listingsJSON(n)
			var perLvol float64
			for b.Loop() {
				var m0, m1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m0)
				g := Build(1, testTime, decodeListings(b, j))
				runtime.GC()
				runtime.ReadMemStats(&m1)
				perLvol = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(g.Len())
				runtime.KeepAlive(g)
			}
			b.ReportMetric(perLvol, "retained-B/lvol")
		})
	}
}

func BenchmarkUpdateOne(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			in := decodeListings(b, listingsJSON(n))
			g := Build(1, testTime, in)
			// Resize a replica head whose chain sits on a backing image.
			bd := in.Bdevs[len(in.Bdevs)/2]
			for i := len(in.Bdevs) / 2; ; i++ {
				if info, ok := in.Bdevs[i].LvolInfo(); ok && !info.Snapshot {
					bd = in.Bdevs[i]
					break
				}
			}
			t0 := time.Now()
			Build(1, testTime, in)
			full := time.Since(t0)
			gen := uint64(1)
			start := time.Now()
			for b.Loop() {
				gen++
				bd.NumBlocks++
				g = g.Update(gen, testTime, Update{Bdevs: []spdkrpc.Bdev{bd}})
			}
			b.ReportMetric(float64(full)/(float64(time.Since(start))/float64(b.N)), "build/update")
			if !g.Trustworthy(in.Lvstores[0].UUID) {
				b.Fatal(g.Anomalies())
			}
		})
	}
}

// BenchmarkUpdateSnapshot is the update a new snapshot brings: the new
// snapshot, its clone and its parent change at once.
func BenchmarkUpdateSnapshot(b *testing.B) {
	in := decodeListings(b, listingsJSON(100_000))
	g := Build(1, testTime, in)
	// The newest replica's top snapshot and head: removing and re-adding
	// the snapshot re-parents the head each time.
	head, snap := in.Bdevs[len(in.Bdevs)-1], in.Bdevs[len(in.Bdevs)-2]
	headLvol, snapLvol := in.Lvols[len(in.Lvols)-1], in.Lvols[len(in.Lvols)-2]
	headInfo, _ := head.LvolInfo()
	flat := *headInfo
	flat.Clone, flat.BaseSnapshot = false, ""
	flatHead := head
	flatHead.DriverSpecific = &spdkrpc.BdevDriverSpecific{Lvol: &flat}
	parentBdev := in.Bdevs[len(in.Bdevs)-3]
	pInfo, _ := parentBdev.LvolInfo()
	pFlat := *pInfo
	pFlat.Clones = []spdkrpc.LvolName{headLvol.Name}
	flatParent := parentBdev
	flatParent.DriverSpecific = &spdkrpc.BdevDriverSpecific{Lvol: &pFlat}
	flat.Clone, flat.BaseSnapshot = true, pInfo.Clones[0]
	gen := uint64(1)
	for b.Loop() {
		gen++
		g = g.Update(gen, testTime, Update{RemovedBdevs: []spdkrpc.BdevName{snap.Name}, Bdevs: []spdkrpc.Bdev{flatHead, flatParent}})
		gen++
		g = g.Update(gen, testTime, Update{Lvols: []spdkrpc.Lvol{snapLvol}, Bdevs: []spdkrpc.Bdev{snap, head, parentBdev}})
	}
	if !g.Trustworthy(in.Lvstores[0].UUID) {
		b.Fatal(g.Anomalies())
	}
}

func BenchmarkAncestors64(b *testing.B) {
	s := newScene()
	prev := ""
	for i := range 64 {
		name := fmt.Sprintf("r-1-snap-%d", i)
		s.add("lvs0", name, true, prev)
		prev = name
	}
	s.add("lvs0", "r-1", false, prev)
	g := s.graph()
	head, _ := g.Lvol(ParseRef("lvs0/r-1"))
	for b.Loop() {
		if len(g.Ancestors(head)) != 64 {
			b.Fatal("wrong depth")
		}
	}
}

func BenchmarkPlanCleanup100k(b *testing.B) {
	in := decodeListings(b, listingsJSON(100_000))
	g := Build(1, testTime, in)
	// A replica on a backing image shared by thousands of others: the
	// plan deletes its head and snapshots and refuses the backing image.
	var replica string
	for _, l := range in.Lvols[len(in.Lvols)/2:] {
		if !l.IsSnapshot && l.IsClone {
			replica = string(l.Name)
			break
		}
	}
	g0, _ := g.Lvol(ParseRef("lvs0/" + replica))
	if g.Depth(g0) != 4 {
		b.Fatalf("replica %s is %d deep", replica, g.Depth(g0))
	}
	for b.Loop() {
		p, err := PlanCleanup(g, CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: replica})
		if err != nil || len(p.Delete) != 4 || len(p.Refused) != 1 || p.Refused[0].Rule != RuleBackingImage {
			b.Fatal(err, p.Delete, p.Refused)
		}
	}
}
