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
}
