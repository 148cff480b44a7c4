package health

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	disksDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "disk", "identities"),
		"Disks on the node by identity state.", []string{"state"}, nil)
	diskCollisionsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "disk", "uuid_prefix_collisions"),
		"Disks whose short UUID prefix currently collides with another known disk's.", nil, nil)
	diskRegenerationsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "disk", "uuid_regenerations_total"),
		"Disk UUIDs regenerated because their short prefix collided.", nil, nil)
	registryRejectedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "disk", "registry_updates_rejected_total"),
		"Cluster disk registry updates refused as implausible; the last good registry is kept.", nil, nil)
	registryInfoDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "disk", "registry_info"),
		"Where the cluster's disks are known from: source kube (prefix claims) or file.", []string{"source"}, nil)
	registrySyncedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "disk", "registry_synced"),
		"1 when the cluster disk registry view is current, 0 while the last good one is kept.", nil, nil)
	registryDisksDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "disk", "registry_disks"),
		"Disks known cluster-wide (claims or registry entries) in the view in use.", nil, nil)
)

// DiskCollector exports the disk identity state.
type DiskCollector struct {
	src StateSource
}

// NewDiskCollector returns a collector reading src at every scrape.
func NewDiskCollector(src StateSource) *DiskCollector {
	return &DiskCollector{src: src}
}

// Describe implements prometheus.Collector.
func (c *DiskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- disksDesc
	ch <- diskCollisionsDesc
	ch <- diskRegenerationsDesc
	ch <- registryRejectedDesc
	ch <- registryInfoDesc
	ch <- registrySyncedDesc
	ch <- registryDisksDesc
}

// Collect implements prometheus.Collector.
func (c *DiskCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.src.NodeState().Disks
	if d == nil {
		return
	}
	states := make([]string, 0, len(d.ByState))
	for s := range d.ByState {
		states = append(states, s)
	}
	sort.Strings(states)
	for _, s := range states {
		ch <- prometheus.MustNewConstMetric(disksDesc, prometheus.GaugeValue, float64(d.ByState[s]), s)
	}
	ch <- prometheus.MustNewConstMetric(diskCollisionsDesc, prometheus.GaugeValue, float64(d.Collisions))
	ch <- prometheus.MustNewConstMetric(diskRegenerationsDesc, prometheus.CounterValue, float64(d.Regenerations))
	ch <- prometheus.MustNewConstMetric(registryRejectedDesc, prometheus.CounterValue, float64(d.RegistryUpdatesRejected))
	if d.Registry == "" {
		return
	}
	synced := 0.0
	if d.RegistrySynced {
		synced = 1
	}
	ch <- prometheus.MustNewConstMetric(registryInfoDesc, prometheus.GaugeValue, 1, d.Registry)
	ch <- prometheus.MustNewConstMetric(registrySyncedDesc, prometheus.GaugeValue, synced)
	ch <- prometheus.MustNewConstMetric(registryDisksDesc, prometheus.GaugeValue, float64(d.RegistryDisks))
}
