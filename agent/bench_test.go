package agent

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkProxy compares one spdk_get_version straight to the simulator
// with the same call through the agent, with SPDK's 4 ms poller off and on.
func BenchmarkProxy(b *testing.B) {
	for _, poll := range []time.Duration{0, 4 * time.Millisecond} {
		n := startNode(b, nodeOpts{poll: poll, noDemo: true})
		ctx := context.Background()
		for _, path := range []struct {
			name string
			call func() error
		}{
			{"direct", func() error { _, err := n.spdk.CallRaw(ctx, "spdk_get_version", nil); return err }},
			{"agent", func() error { _, err := n.via.CallRaw(ctx, "spdk_get_version", nil); return err }},
		} {
			b.Run(fmt.Sprintf("poll=%v/%s", poll, path.name), func(b *testing.B) {
				for b.Loop() {
					if err := path.call(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkProxy_64clients measures throughput with 64 concurrent callers
// through one agent, with SPDK's 4 ms poller off and on.
func BenchmarkProxy_64clients(b *testing.B) {
	for _, poll := range []time.Duration{0, 4 * time.Millisecond} {
		b.Run(fmt.Sprintf("poll=%v", poll), func(b *testing.B) {
			n := startNode(b, nodeOpts{poll: poll, noDemo: true})
			ctx := context.Background()
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N/64 + 1
			for range 64 {
				wg.Go(func() {
					for range per {
						if _, err := n.via.CallRaw(ctx, "bdev_get_bdevs", params("name", "nope")); err == nil {
							b.Error("want ENODEV")
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(per*64)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

// BenchmarkFollow_10k measures, at 10k lvols, the time from an lvol created
// on SPDK to its appearance in the agent's graph, and the reply bytes the
// targeted update cost compared with a full sync.
func BenchmarkFollow_10k(b *testing.B) {
	n := startNode(b, nodeOpts{noDemo: true})
	ctx := context.Background()
	t := n.sim.Target()
	if _, err := t.Call(ctx, "bdev_malloc_create", map[string]any{"name": "M0", "num_blocks": 1 << 20, "block_size": 4096}); err != nil {
		b.Fatal(err)
	}
	if _, err := t.Call(ctx, "bdev_lvol_create_lvstore", map[string]any{"bdev_name": "M0", "lvs_name": "big", "cluster_sz": 1 << 20, "num_md_pages_per_cluster_ratio": 1000}); err != nil {
		b.Fatal(err)
	}
	const lvols = 10000
	for i := range lvols {
		if _, err := t.Call(ctx, "bdev_lvol_create", map[string]any{"lvs_name": "big", "lvol_name": fmt.Sprintf("v%d", i), "size_in_mib": 1, "thin_provision": true}); err != nil {
			b.Fatal(err)
		}
	}
	n.waitFor(b, "10k lvols", func(s Status) bool { return s.Graph.Lvols == lvols })
	r := n.agent.follower.r
	before := r.bytes.Load()
	if _, err := n.agent.follower.request(ctx, nil, true); err != nil {
		b.Fatal(err)
	}
	full := r.bytes.Load() - before
	b.ResetTimer()
	var updateBytes int64
	for i := 0; b.Loop(); i++ {
		want := lvols + 1 + i
		before := r.bytes.Load()
		if _, err := t.Call(ctx, "bdev_lvol_create", map[string]any{"lvs_name": "big", "lvol_name": fmt.Sprintf("new%d", i), "size_in_mib": 1, "thin_provision": true}); err != nil {
			b.Fatal(err)
		}
		for n.agent.Current().Graph.Len() < want {
			time.Sleep(100 * time.Microsecond)
		}
		updateBytes += r.bytes.Load() - before
	}
	b.ReportMetric(float64(full), "fullsync-bytes")
	b.ReportMetric(float64(updateBytes)/float64(b.N), "update-bytes/op")
}
