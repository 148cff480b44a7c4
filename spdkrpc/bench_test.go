package spdkrpc

import (
	"context"
	"sync"
	"testing"
	"time"
)

// benchPoll is SPDK's RPC poll period: a request is read at one poll and
// answered at the next, so one call at a time costs one to two periods.
const benchPoll = 4 * time.Millisecond

// BenchmarkGetVersion50 makes 50 spdk_get_version calls per iteration
// against a server that polls every 4 ms, one after the other and then from
// 50 goroutines through one client. Pipelining turns ~50 poll round trips
// into one or two.
func BenchmarkGetVersion50(b *testing.B) {
	f := newFake(b, nil)
	f.poll = benchPoll
	f.start()
	c := New(f.path, Options{})
	defer c.Close()
	ctx := context.Background()
	if err := c.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}

	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			for range 50 {
				if _, err := c.GetVersion(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("concurrent", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					if _, err := c.GetVersion(ctx); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
		}
	})
}
