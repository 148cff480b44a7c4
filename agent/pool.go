package agent

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"
)

// rawCaller is what the agent needs from an SPDK connection: one call with
// raw params and a raw result. SPDK's error objects come back as
// *spdkrpc.Error, unchanged.
type rawCaller interface {
	CallRaw(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error)
}

// pool spreads forwarded calls over a few pipelined SPDK connections, so that
// many local clients neither wait behind each other nor use up SPDK's 64
// connections. Each call goes to the connection with the fewest calls in
// flight.
type pool struct {
	conns    []rawCaller
	inflight []atomic.Int64
	next     atomic.Uint64
}

func newPool(conns []rawCaller) *pool {
	return &pool{conns: conns, inflight: make([]atomic.Int64, len(conns))}
}

// connectWait bounds how long a call waits for its connection to come up
// (at start, or while SPDK restarts) before it fails as disconnected.
const connectWait = time.Second

// waiter is a connection that can say when it is up.
type waiter interface {
	WaitConnected(ctx context.Context) error
}

// CallRaw forwards one call. A connection that is down is given a moment
// to come up before the call is sent; a call is never retried once sent,
// since SPDK may have executed it.
func (p *pool) CallRaw(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	i := p.pick()
	p.inflight[i].Add(1)
	defer p.inflight[i].Add(-1)
	if w, ok := p.conns[i].(waiter); ok {
		wctx, cancel := context.WithTimeout(ctx, connectWait)
		_ = w.WaitConnected(wctx) // the call itself reports a connection still down
		cancel()
	}
	return p.conns[i].CallRaw(ctx, method, params)
}

// pick returns the least busy connection, starting the scan at a rotating
// index so that ties spread evenly.
func (p *pool) pick() int {
	n := len(p.conns)
	start := int(p.next.Add(1) % uint64(n))
	best, bestLoad := start, p.inflight[start].Load()
	for k := 1; k < n && bestLoad > 0; k++ {
		i := (start + k) % n
		if l := p.inflight[i].Load(); l < bestLoad {
			best, bestLoad = i, l
		}
	}
	return best
}
