package health

import "github.com/prometheus/client_golang/prometheus"

var (
	bdevIOLabels = []string{"bdev", "op"}

	bdevIOBytesDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "bdev", "io_bytes_total"),
		"Bytes read, written or unmapped on the bdev since it was created (op=read|write|unmap).",
		bdevIOLabels, nil)
	bdevIOOpsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "bdev", "io_operations_total"),
		"I/O operations completed on the bdev since it was created (op=read|write|unmap).",
		bdevIOLabels, nil)
	bdevIOTimeDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "bdev", "io_time_seconds_total"),
		"Seconds spent completing the bdev's I/O operations (latency ticks / tick rate, op=read|write|unmap).",
		bdevIOLabels, nil)
)

// IOStatCollector exports SPDK's per-bdev I/O counters (bdev_get_iostat) as
// counters: they only grow while the bdev exists, and restart at zero with it.
type IOStatCollector struct {
	src StateSource
}

// NewIOStatCollector returns a collector reading src at every scrape.
func NewIOStatCollector(src StateSource) *IOStatCollector {
	return &IOStatCollector{src: src}
}

// Describe implements prometheus.Collector.
func (c *IOStatCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- bdevIOBytesDesc
	ch <- bdevIOOpsDesc
	ch <- bdevIOTimeDesc
}

// Collect implements prometheus.Collector.
func (c *IOStatCollector) Collect(ch chan<- prometheus.Metric) {
	io := c.src.NodeState().IOStat
	if io == nil {
		return
	}
	counter := func(d *prometheus.Desc, v float64, bdev, op string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, bdev, op)
	}
	for _, b := range io.Bdevs {
		for _, op := range []struct {
			name              string
			bytes, ops, ticks uint64
		}{
			{"read", b.BytesRead, b.NumReadOps, b.ReadLatencyTicks},
			{"write", b.BytesWritten, b.NumWriteOps, b.WriteLatencyTicks},
			{"unmap", b.BytesUnmapped, b.NumUnmapOps, b.UnmapLatencyTicks},
		} {
			counter(bdevIOBytesDesc, float64(op.bytes), b.Name, op.name)
			counter(bdevIOOpsDesc, float64(op.ops), b.Name, op.name)
			// Without a tick rate the ticks cannot be turned into
			// seconds; exporting ticks as seconds would be wrong by a
			// factor of billions, so the series is left out.
			if io.TickRate > 0 {
				counter(bdevIOTimeDesc, float64(op.ticks)/float64(io.TickRate), b.Name, op.name)
			}
		}
	}
}
