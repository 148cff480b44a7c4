package agent

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
)

// blockingCaller holds every call until release is closed, counting them.
type blockingCaller struct {
	mu      sync.Mutex
	n       int
	release chan struct{}
	entered chan struct{}
}

func (b *blockingCaller) CallRaw(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
	b.entered <- struct{}{}
	<-b.release
	return json.RawMessage(`true`), nil
}

func TestPool_spreadsCallsInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 16)
	callers := make([]*blockingCaller, 4)
	conns := make([]rawCaller, 4)
	for i := range callers {
		callers[i] = &blockingCaller{release: release, entered: entered}
		conns[i] = callers[i]
	}
	p := newPool(conns)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := p.CallRaw(context.Background(), "bdev_get_bdevs", nil); err != nil {
				t.Error(err)
			}
		})
		<-entered // the next pick sees this call in flight
	}
	close(release)
	wg.Wait()
	for i, c := range callers {
		if c.n != 2 {
			t.Errorf("connection %d got %d calls, want 2 (8 calls over 4 connections)", i, c.n)
		}
	}
}
