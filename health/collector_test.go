package health

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testNow is the scrape time of the collector tests.
var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// testState is a node with two lvstores, two bdevs and disk bookkeeping.
func testState() NodeState {
	return NodeState{
		Generation: 42,
		Complete:   true,
		SyncedAt:   testNow.Add(-1500 * time.Millisecond),
		Lvstores: []LvstoreState{
			{
				Name: "lvs0", UUID: "a6f3c1d2-0000-4000-8000-000000000001",
				TotalBytes: 1 << 30, FreeBytes: 768 << 20, ProvisionedBytes: 3 << 30, ClusterSize: 4 << 20,
				Lvols:         LvolCounts{Plain: 3, Snapshot: 2, Clone: 1, EsnapClone: 1, Degraded: 1},
				MaxChainDepth: 3, Orphans: 1, Protected: 2,
			},
			{Name: "lvs1", UUID: "b7e4d2e3-0000-4000-8000-000000000002", TotalBytes: 2 << 30, FreeBytes: 2 << 30, ClusterSize: 1 << 20},
		},
		Lvols: []LvolState{
			{Lvstore: "lvs0", Name: "vol1", UUID: "c1", AllocatedBytes: 8 << 20},
			{Lvstore: "lvs0", Name: "snap1", UUID: "c2", AllocatedBytes: 4 << 20},
		},
		IOStat: &IOStat{TickRate: 2_000_000_000, Bdevs: []BdevIOStat{
			{Name: "Malloc0", BytesRead: 4096, NumReadOps: 1, BytesWritten: 8192, NumWriteOps: 2,
				BytesUnmapped: 0, NumUnmapOps: 0, ReadLatencyTicks: 1_000_000, WriteLatencyTicks: 3_000_000_000},
		}},
		Disks: &DiskState{ByState: map[string]int{"ok": 3, "collision": 1}, Collisions: 1, Regenerations: 2, RegistryUpdatesRejected: 5},
	}
}

func constState(st NodeState) StateSource { return StateFunc(func() NodeState { return st }) }

func TestNodeCollector(t *testing.T) {
	const want = `
# HELP spdk_agent_graph_age_seconds Seconds since the lvol graph last matched SPDK; absent before the first sync.
# TYPE spdk_agent_graph_age_seconds gauge
spdk_agent_graph_age_seconds 1.5
# HELP spdk_agent_graph_complete 1 if the lvol graph holds every answer it needs from SPDK, 0 otherwise.
# TYPE spdk_agent_graph_complete gauge
spdk_agent_graph_complete 1
# HELP spdk_agent_graph_generation Number of lvol graph snapshots built since the agent started.
# TYPE spdk_agent_graph_generation gauge
spdk_agent_graph_generation 42
# HELP spdk_agent_lvstore_free_bytes Unallocated capacity of the lvstore.
# TYPE spdk_agent_lvstore_free_bytes gauge
spdk_agent_lvstore_free_bytes{lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 8.05306368e+08
spdk_agent_lvstore_free_bytes{lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 2.147483648e+09
# HELP spdk_agent_lvstore_lvols Lvols in the lvstore by kind (plain, snapshot, clone, esnap_clone, degraded).
# TYPE spdk_agent_lvstore_lvols gauge
spdk_agent_lvstore_lvols{kind="clone",lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 1
spdk_agent_lvstore_lvols{kind="degraded",lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 1
spdk_agent_lvstore_lvols{kind="esnap_clone",lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 1
spdk_agent_lvstore_lvols{kind="plain",lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 3
spdk_agent_lvstore_lvols{kind="snapshot",lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 2
spdk_agent_lvstore_lvols{kind="clone",lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 0
spdk_agent_lvstore_lvols{kind="degraded",lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 0
spdk_agent_lvstore_lvols{kind="esnap_clone",lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 0
spdk_agent_lvstore_lvols{kind="plain",lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 0
spdk_agent_lvstore_lvols{kind="snapshot",lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 0
# HELP spdk_agent_lvstore_max_chain_depth Number of lvols in the longest ancestry chain of the lvstore.
# TYPE spdk_agent_lvstore_max_chain_depth gauge
spdk_agent_lvstore_max_chain_depth{lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 3
spdk_agent_lvstore_max_chain_depth{lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 0
# HELP spdk_agent_lvstore_orphan_lvols Lvols owned by nobody under the ownership scheme, such as snapshots left behind by a deleted replica.
# TYPE spdk_agent_lvstore_orphan_lvols gauge
spdk_agent_lvstore_orphan_lvols{lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 1
spdk_agent_lvstore_orphan_lvols{lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 0
# HELP spdk_agent_lvstore_protected_lvols Lvols that are backing images of another volume and may never be deleted.
# TYPE spdk_agent_lvstore_protected_lvols gauge
spdk_agent_lvstore_protected_lvols{lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 2
spdk_agent_lvstore_protected_lvols{lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 0
# HELP spdk_agent_lvstore_provisioned_bytes Sum of the sizes of the lvstore's lvols; above size_bytes when thin lvols over-commit it.
# TYPE spdk_agent_lvstore_provisioned_bytes gauge
spdk_agent_lvstore_provisioned_bytes{lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 3.221225472e+09
spdk_agent_lvstore_provisioned_bytes{lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 0
# HELP spdk_agent_lvstore_size_bytes Data capacity of the lvstore.
# TYPE spdk_agent_lvstore_size_bytes gauge
spdk_agent_lvstore_size_bytes{lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 1.073741824e+09
spdk_agent_lvstore_size_bytes{lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 2.147483648e+09
`
	c := NewNodeCollector(constState(testState()), CollectorOptions{Now: fixedNow})
	// cluster_size is left out of the comparison list here and checked
	// with the per-lvol option below, to keep this expectation readable.
	names := []string{
		"spdk_agent_graph_age_seconds", "spdk_agent_graph_complete", "spdk_agent_graph_generation",
		"spdk_agent_lvstore_free_bytes", "spdk_agent_lvstore_lvols", "spdk_agent_lvstore_max_chain_depth",
		"spdk_agent_lvstore_orphan_lvols", "spdk_agent_lvstore_protected_lvols",
		"spdk_agent_lvstore_provisioned_bytes", "spdk_agent_lvstore_size_bytes",
		"spdk_agent_lvol_allocated_bytes",
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

func TestNodeCollector_perLvolAndClusterSize(t *testing.T) {
	const want = `
# HELP spdk_agent_lvol_allocated_bytes Bytes allocated to the lvol (only with per-lvol metrics enabled).
# TYPE spdk_agent_lvol_allocated_bytes gauge
spdk_agent_lvol_allocated_bytes{lvol="snap1",lvol_uuid="c2",lvstore="lvs0"} 4.194304e+06
spdk_agent_lvol_allocated_bytes{lvol="vol1",lvol_uuid="c1",lvstore="lvs0"} 8.388608e+06
# HELP spdk_agent_lvstore_cluster_size_bytes Allocation unit of the lvstore.
# TYPE spdk_agent_lvstore_cluster_size_bytes gauge
spdk_agent_lvstore_cluster_size_bytes{lvstore="lvs0",lvstore_uuid="a6f3c1d2-0000-4000-8000-000000000001"} 4.194304e+06
spdk_agent_lvstore_cluster_size_bytes{lvstore="lvs1",lvstore_uuid="b7e4d2e3-0000-4000-8000-000000000002"} 1.048576e+06
`
	c := NewNodeCollector(constState(testState()), CollectorOptions{PerLvol: true, Now: fixedNow})
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"spdk_agent_lvol_allocated_bytes", "spdk_agent_lvstore_cluster_size_bytes"); err != nil {
		t.Error(err)
	}
}

func TestNodeCollector_goneThingsHaveNoSeries(t *testing.T) {
	// The same collector sees the state change between scrapes: what is
	// gone must not linger, and a graph never synced has no age.
	st := testState()
	src := StateFunc(func() NodeState { return st })
	c := NewNodeCollector(src, CollectorOptions{PerLvol: true, Now: fixedNow})
	if n := testutil.CollectAndCount(c, "spdk_agent_lvol_allocated_bytes"); n != 2 {
		t.Fatalf("before: %d lvol series, want 2", n)
	}
	st = NodeState{Generation: 43}
	for _, tc := range []struct {
		name string
		want int
	}{
		{"spdk_agent_lvol_allocated_bytes", 0},
		{"spdk_agent_lvstore_size_bytes", 0},
		{"spdk_agent_lvstore_lvols", 0},
		{"spdk_agent_graph_age_seconds", 0},
		{"spdk_agent_graph_complete", 1},
	} {
		if n := testutil.CollectAndCount(c, tc.name); n != tc.want {
			t.Errorf("after: %s has %d series, want %d", tc.name, n, tc.want)
		}
	}
	if v := testutil.ToFloat64(onlyMetric(c, "spdk_agent_graph_complete")); v != 0 {
		t.Errorf("graph_complete = %v for an unsynced graph, want 0", v)
	}
}

func TestNodeCollector_perLvolOffByDefault(t *testing.T) {
	c := NewNodeCollector(constState(testState()), CollectorOptions{Now: fixedNow})
	if n := testutil.CollectAndCount(c, "spdk_agent_lvol_allocated_bytes"); n != 0 {
		t.Errorf("per-lvol series without the option: %d, want 0", n)
	}
}

func TestIOStatCollector(t *testing.T) {
	const want = `
# HELP spdk_agent_bdev_io_bytes_total Bytes read, written or unmapped on the bdev since it was created (op=read|write|unmap).
# TYPE spdk_agent_bdev_io_bytes_total counter
spdk_agent_bdev_io_bytes_total{bdev="Malloc0",op="read"} 4096
spdk_agent_bdev_io_bytes_total{bdev="Malloc0",op="unmap"} 0
spdk_agent_bdev_io_bytes_total{bdev="Malloc0",op="write"} 8192
# HELP spdk_agent_bdev_io_operations_total I/O operations completed on the bdev since it was created (op=read|write|unmap).
# TYPE spdk_agent_bdev_io_operations_total counter
spdk_agent_bdev_io_operations_total{bdev="Malloc0",op="read"} 1
spdk_agent_bdev_io_operations_total{bdev="Malloc0",op="unmap"} 0
spdk_agent_bdev_io_operations_total{bdev="Malloc0",op="write"} 2
# HELP spdk_agent_bdev_io_time_seconds_total Seconds spent completing the bdev's I/O operations (latency ticks / tick rate, op=read|write|unmap).
# TYPE spdk_agent_bdev_io_time_seconds_total counter
spdk_agent_bdev_io_time_seconds_total{bdev="Malloc0",op="read"} 0.0005
spdk_agent_bdev_io_time_seconds_total{bdev="Malloc0",op="unmap"} 0
spdk_agent_bdev_io_time_seconds_total{bdev="Malloc0",op="write"} 1.5
`
	if err := testutil.CollectAndCompare(NewIOStatCollector(constState(testState())), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestIOStatCollector_noTickRateNoTime(t *testing.T) {
	st := testState()
	st.IOStat.TickRate = 0
	c := NewIOStatCollector(constState(st))
	if n := testutil.CollectAndCount(c, "spdk_agent_bdev_io_time_seconds_total"); n != 0 {
		t.Errorf("time series without a tick rate: %d, want 0", n)
	}
	if n := testutil.CollectAndCount(c, "spdk_agent_bdev_io_bytes_total"); n != 3 {
		t.Errorf("byte series: %d, want 3", n)
	}
	if n := testutil.CollectAndCount(NewIOStatCollector(constState(NodeState{}))); n != 0 {
		t.Errorf("series without iostat: %d, want 0", n)
	}
}

func TestDiskCollector(t *testing.T) {
	const want = `
# HELP spdk_agent_disk_identities Disks on the node by identity state.
# TYPE spdk_agent_disk_identities gauge
spdk_agent_disk_identities{state="collision"} 1
spdk_agent_disk_identities{state="ok"} 3
# HELP spdk_agent_disk_registry_updates_rejected_total Cluster disk registry updates refused as implausible; the last good registry is kept.
# TYPE spdk_agent_disk_registry_updates_rejected_total counter
spdk_agent_disk_registry_updates_rejected_total 5
# HELP spdk_agent_disk_uuid_prefix_collisions Disks whose short UUID prefix currently collides with another known disk's.
# TYPE spdk_agent_disk_uuid_prefix_collisions gauge
spdk_agent_disk_uuid_prefix_collisions 1
# HELP spdk_agent_disk_uuid_regenerations_total Disk UUIDs regenerated because their short prefix collided.
# TYPE spdk_agent_disk_uuid_regenerations_total counter
spdk_agent_disk_uuid_regenerations_total 2
`
	if err := testutil.CollectAndCompare(NewDiskCollector(constState(testState())), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(NewDiskCollector(constState(NodeState{}))); n != 0 {
		t.Errorf("series without disk state: %d, want 0", n)
	}
}

func TestDiskCollector_registry(t *testing.T) {
	const want = `
# HELP spdk_agent_disk_registry_disks Disks known cluster-wide (claims or registry entries) in the view in use.
# TYPE spdk_agent_disk_registry_disks gauge
spdk_agent_disk_registry_disks 256
# HELP spdk_agent_disk_registry_info Where the cluster's disks are known from: source kube (prefix claims) or file.
# TYPE spdk_agent_disk_registry_info gauge
spdk_agent_disk_registry_info{source="kube"} 1
# HELP spdk_agent_disk_registry_synced 1 when the cluster disk registry view is current, 0 while the last good one is kept.
# TYPE spdk_agent_disk_registry_synced gauge
spdk_agent_disk_registry_synced 0
`
	st := testState()
	st.Disks.Registry, st.Disks.RegistryDisks = "kube", 256
	err := testutil.CollectAndCompare(NewDiskCollector(constState(st)), strings.NewReader(want),
		"spdk_agent_disk_registry_disks", "spdk_agent_disk_registry_info", "spdk_agent_disk_registry_synced")
	if err != nil {
		t.Error(err)
	}
}

// onlyMetric wraps the one metric named name that c collects, for ToFloat64.
func onlyMetric(c prometheus.Collector, name string) prometheus.Collector {
	return prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		inner := make(chan prometheus.Metric)
		go func() { c.Collect(inner); close(inner) }()
		for m := range inner {
			if strings.Contains(m.Desc().String(), `"`+name+`"`) {
				ch <- m
			}
		}
	})
}
