package health

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// namespace prefixes every metric the agent exports.
const namespace = "spdk_agent"

// CollectorOptions configures the state collectors.
type CollectorOptions struct {
	// PerLvol exports spdk_agent_lvol_allocated_bytes, one series per lvol.
	// Off by default: a node can hold thousands of lvols.
	PerLvol bool
	// Now returns the current time, for the graph's age; time.Now if nil.
	Now func() time.Time
}

// RegisterCollectors registers the node, iostat and disk collectors, all
// reading src at scrape time.
func RegisterCollectors(reg prometheus.Registerer, src StateSource, opts CollectorOptions) error {
	for _, c := range []prometheus.Collector{
		NewNodeCollector(src, opts),
		NewIOStatCollector(src),
		NewDiskCollector(src),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

var (
	lvstoreLabels = []string{"lvstore", "lvstore_uuid"}

	graphGenerationDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "graph", "generation"),
		"Number of lvol graph snapshots built since the agent started.", nil, nil)
	graphCompleteDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "graph", "complete"),
		"1 if the lvol graph holds every answer it needs from SPDK, 0 otherwise.", nil, nil)
	graphAgeDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "graph", "age_seconds"),
		"Seconds since the lvol graph last matched SPDK; absent before the first sync.", nil, nil)

	lvstoreSizeDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "lvstore", "size_bytes"),
		"Data capacity of the lvstore.", lvstoreLabels, nil)
	lvstoreFreeDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "lvstore", "free_bytes"),
		"Unallocated capacity of the lvstore.", lvstoreLabels, nil)
	lvstoreProvisionedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "lvstore", "provisioned_bytes"),
		"Sum of the sizes of the lvstore's lvols; above size_bytes when thin lvols over-commit it.", lvstoreLabels, nil)
	lvstoreClusterSizeDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "lvstore", "cluster_size_bytes"),
		"Allocation unit of the lvstore.", lvstoreLabels, nil)
	lvstoreLvolsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "lvstore", "lvols"),
		"Lvols in the lvstore by kind (plain, snapshot, clone, esnap_clone, degraded).",
		append(lvstoreLabels[:len(lvstoreLabels):len(lvstoreLabels)], "kind"), nil)
	lvstoreChainDepthDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "lvstore", "max_chain_depth"),
		"Number of lvols in the longest ancestry chain of the lvstore.", lvstoreLabels, nil)
	lvstoreOrphansDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "lvstore", "orphan_lvols"),
		"Lvols owned by nobody under the ownership scheme, such as snapshots left behind by a deleted replica.", lvstoreLabels, nil)
	lvstoreProtectedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "lvstore", "protected_lvols"),
		"Lvols that are backing images of another volume and may never be deleted.", lvstoreLabels, nil)

	lvolAllocatedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "lvol", "allocated_bytes"),
		"Bytes allocated to the lvol (only with per-lvol metrics enabled).",
		[]string{"lvstore", "lvol", "lvol_uuid"}, nil)
)

// NodeCollector exports the lvol graph's state: generation, completeness,
// age, and per lvstore its capacity and the shape of its graph.
type NodeCollector struct {
	src  StateSource
	opts CollectorOptions
}

// NewNodeCollector returns a collector reading src at every scrape.
func NewNodeCollector(src StateSource, opts CollectorOptions) *NodeCollector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &NodeCollector{src: src, opts: opts}
}

// Describe implements prometheus.Collector.
func (c *NodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		graphGenerationDesc, graphCompleteDesc, graphAgeDesc,
		lvstoreSizeDesc, lvstoreFreeDesc, lvstoreProvisionedDesc, lvstoreClusterSizeDesc,
		lvstoreLvolsDesc, lvstoreChainDepthDesc, lvstoreOrphansDesc, lvstoreProtectedDesc,
	} {
		ch <- d
	}
	if c.opts.PerLvol {
		ch <- lvolAllocatedDesc
	}
}

// Collect implements prometheus.Collector.
func (c *NodeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.NodeState()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(graphGenerationDesc, float64(st.Generation))
	gauge(graphCompleteDesc, boolFloat(st.Complete))
	if !st.SyncedAt.IsZero() {
		gauge(graphAgeDesc, max(0, c.opts.Now().Sub(st.SyncedAt).Seconds()))
	}
	for _, ls := range st.Lvstores {
		gauge(lvstoreSizeDesc, float64(ls.TotalBytes), ls.Name, ls.UUID)
		gauge(lvstoreFreeDesc, float64(ls.FreeBytes), ls.Name, ls.UUID)
		gauge(lvstoreProvisionedDesc, float64(ls.ProvisionedBytes), ls.Name, ls.UUID)
		gauge(lvstoreClusterSizeDesc, float64(ls.ClusterSize), ls.Name, ls.UUID)
		// Every kind is always exported, zeros included, so that a kind
		// appearing does not start a new series mid-graph.
		for _, k := range []struct {
			kind string
			n    int
		}{
			{"plain", ls.Lvols.Plain},
			{"snapshot", ls.Lvols.Snapshot},
			{"clone", ls.Lvols.Clone},
			{"esnap_clone", ls.Lvols.EsnapClone},
			{"degraded", ls.Lvols.Degraded},
		} {
			gauge(lvstoreLvolsDesc, float64(k.n), ls.Name, ls.UUID, k.kind)
		}
		gauge(lvstoreChainDepthDesc, float64(ls.MaxChainDepth), ls.Name, ls.UUID)
		gauge(lvstoreOrphansDesc, float64(ls.Orphans), ls.Name, ls.UUID)
		gauge(lvstoreProtectedDesc, float64(ls.Protected), ls.Name, ls.UUID)
	}
	if c.opts.PerLvol {
		for _, lv := range st.Lvols {
			gauge(lvolAllocatedDesc, float64(lv.AllocatedBytes), lv.Lvstore, lv.Name, lv.UUID)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
