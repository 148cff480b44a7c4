package agent

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/spdk-agent/spdk-agent/health"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// iostatGetter is the one SPDK call the iostat poller makes.
type iostatGetter interface {
	GetIostat(ctx context.Context, names ...spdkrpc.BdevRef) (*spdkrpc.Iostat, error)
}

// iostatScope names the bdevs to read: all of them (all true), or names,
// possibly none.
type iostatScope func() (names []spdkrpc.BdevRef, all bool)

// everyBdev is the scope of every bdev.
func everyBdev() ([]spdkrpc.BdevRef, bool) { return nil, true }

// iostatPoller keeps SPDK's latest bdev_get_iostat answer for the metrics.
// It reads after every full sync and every interval, never at scrape time:
// a scrape must not wait on SPDK. When a read fails (SPDK down, slow), the
// last answer stays: the counters do not drop to nothing while SPDK
// restarts. A bdev disappears with the next successful answer that lacks it.
type iostatPoller struct {
	get   iostatGetter
	scope iostatScope
	every time.Duration
	log   *slog.Logger

	last atomic.Pointer[health.IOStat] // nil until the first answer
	kick chan struct{}                 // buffered 1: read now
}

func newIOStatPoller(get iostatGetter, scope iostatScope, every time.Duration, log *slog.Logger) *iostatPoller {
	return &iostatPoller{get: get, scope: scope, every: every, log: log, kick: make(chan struct{}, 1)}
}

// current returns the last answer; nil before the first one. The value is
// never modified after it is stored.
func (p *iostatPoller) current() *health.IOStat { return p.last.Load() }

// trigger asks for a read as soon as possible; it never blocks.
func (p *iostatPoller) trigger() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// afterFullSync wraps a follower sync hook so that every successful full
// sync also triggers a read: the bdevs it found should have counters now,
// not an interval later.
func (p *iostatPoller) afterFullSync(next func(kind string, d time.Duration, err error)) func(string, time.Duration, error) {
	return func(kind string, d time.Duration, err error) {
		if next != nil {
			next(kind, d, err)
		}
		if kind == "full" && err == nil {
			p.trigger()
		}
	}
}

// run reads on every trigger and every interval until ctx ends.
func (p *iostatPoller) run(ctx context.Context) {
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-tick.C:
		}
		p.read(ctx)
	}
}

// read fetches once, bounded by the interval so a hung SPDK call does not
// pile up reads; on failure the previous answer is kept.
func (p *iostatPoller) read(ctx context.Context) {
	names, all := p.scope()
	if !all && len(names) == 0 {
		p.last.Store(&health.IOStat{Bdevs: []health.BdevIOStat{}})
		return
	}
	rctx, cancel := context.WithTimeout(ctx, p.every)
	defer cancel()
	io, err := p.get.GetIostat(rctx, names...)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Debug("reading bdev I/O statistics; keeping the last answer", "err", err)
		}
		return
	}
	p.last.Store(ioStatOf(io))
}

// ioStatOf converts SPDK's answer to the health package's plain data,
// sorted by bdev name so that /metrics lists bdevs in a stable order.
func ioStatOf(io *spdkrpc.Iostat) *health.IOStat {
	out := &health.IOStat{TickRate: io.TickRate, Bdevs: make([]health.BdevIOStat, 0, len(io.Bdevs))}
	for _, b := range io.Bdevs {
		out.Bdevs = append(out.Bdevs, health.BdevIOStat{
			Name:              string(b.Name),
			BytesRead:         b.BytesRead,
			NumReadOps:        b.NumReadOps,
			BytesWritten:      b.BytesWritten,
			NumWriteOps:       b.NumWriteOps,
			BytesUnmapped:     b.BytesUnmapped,
			NumUnmapOps:       b.NumUnmapOps,
			ReadLatencyTicks:  b.ReadLatencyTicks,
			WriteLatencyTicks: b.WriteLatencyTicks,
			UnmapLatencyTicks: b.UnmapLatencyTicks,
		})
	}
	slices.SortFunc(out.Bdevs, func(a, b health.BdevIOStat) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// iostatScope reads every bdev's counters with per-lvol metrics on, and
// otherwise only those of the bdevs that are not lvols, in one call: the
// metrics and the answer then stay the same size however many lvols the
// node holds (an unfiltered bdev_get_iostat is about 600 B per lvol and SPDK
// cuts answers at 32 MiB). The lvols' I/O still shows on the bdevs beneath
// them. Before the first graph nothing is read.
func (a *Agent) iostatScope() ([]spdkrpc.BdevRef, bool) {
	if a.cfg.PerLvolMetrics {
		return nil, true
	}
	snap := a.follower.current()
	if snap == nil || snap.Graph == nil {
		return nil, false
	}
	bdevs := snap.Graph.Bdevs()
	names := make([]spdkrpc.BdevRef, 0, len(bdevs))
	for _, b := range bdevs {
		names = append(names, spdkrpc.BdevRef(b.Name))
	}
	return names, false
}
