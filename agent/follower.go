package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Snapshot is one published view of the node: an immutable graph and what
// the agent knows about how far to trust it. Snapshots are never modified
// after they are published.
type Snapshot struct {
	Graph *lvolgraph.Graph
	// Gen increases with every published snapshot.
	Gen uint64
	// ReadAt is when the newest read merged into Graph was taken.
	ReadAt time.Time
	// FullSyncAt is when the last full sync was read.
	FullSyncAt time.Time
	// Synced is false until the first full sync on the current SPDK
	// connection: before it, Graph (if any) is from an earlier connection.
	Synced bool
	// Restored is true for the graph an earlier run of the agent saved
	// (last-graph.json), served until SPDK is read again.
	Restored bool
	// Missing lists the expected lvstores (configured or seen before) that
	// SPDK does not report: while it is not empty the graph is incomplete.
	Missing []string
}

// Complete reports whether every expected lvstore is in the graph.
func (s *Snapshot) Complete() bool { return s.Synced && len(s.Missing) == 0 }

// session is the SPDK connection the follower owns.
type session interface {
	rawCaller
	WaitConnected(ctx context.Context) error
}

// followerHooks let metrics observe the follower; nil fields are skipped.
type followerHooks struct {
	sync          func(kind string, d time.Duration, err error) // "full" or "targeted"
	notifications func(n int)
	beat          func()                     // once per loop iteration, for livez
	lvstores      func([]spdkrpc.Lvstore)    // after each full sync
	complete      func(fullState, time.Time) // the listings of each complete full sync
	fullSync      func(*Snapshot)            // with each full sync's snapshot, once published
}

// follower owns the SPDK session used to follow SPDK: one goroutine (run)
// reads, builds graphs and publishes them; everyone else only loads the
// current snapshot, which never blocks.
type follower struct {
	log        *slog.Logger
	session    session
	r          *reader
	seen       *seenStore
	configured []string
	notifyEach time.Duration
	resyncEach time.Duration
	partsAbove int
	hooks      followerHooks
	// cut remembers a whole listing SPDK cut at its send buffer, for the
	// guard, whose reads are whole.
	cut cutMemo
	// inParts is set while full syncs read in parts (see readState);
	// written by run only.
	inParts atomic.Bool

	snap      atomic.Pointer[Snapshot]
	confirmed atomic.Int64 // unix nanoseconds of the last successful read
	connected atomic.Bool
	// unanswered is set when a read ran out of time on a connected
	// SPDK (stopped, or hung), until a read succeeds again.
	unanswered atomic.Bool

	// reconnected is signalled (buffered 1) when a new SPDK connection is
	// up: whatever happened meanwhile is unknown, so a full sync follows.
	reconnected chan struct{}
	// requests carries targeted refreshes from the proxy, the guard and
	// the cleanup to the owner goroutine.
	requests chan *refreshRequest

	// Owned by run.
	gen         uint64
	cursor      notifyCursor
	lastMissing []string // the Missing of the last full sync, for the log
	failures    int      // full syncs failed in a row, for retryLater's backoff
}

func newFollower(s session, seen *seenStore, cfg Config) *follower {
	return &follower{
		log:         cfg.Logger,
		session:     s,
		r:           &reader{c: s},
		seen:        seen,
		configured:  cfg.ExpectLvstores,
		notifyEach:  cfg.NotifyInterval,
		resyncEach:  cfg.ResyncInterval,
		partsAbove:  cfg.ReadInPartsAbove,
		reconnected: make(chan struct{}, 1),
		requests:    make(chan *refreshRequest),
	}
}

// current returns the latest snapshot; nil before the first full sync.
func (f *follower) current() *Snapshot { return f.snap.Load() }

// confirmedAt returns when SPDK's state was last read successfully.
func (f *follower) confirmedAt() time.Time {
	n := f.confirmed.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// onConnected and onDisconnected are called by the session's observer.
func (f *follower) onConnected() {
	f.connected.Store(true)
	select {
	case f.reconnected <- struct{}{}:
	default:
	}
}

func (f *follower) onDisconnected() { f.connected.Store(false) }

// run follows SPDK until ctx ends: wait for a connection, full sync, then
// follow notifications and refresh requests until a full sync is due again.
func (f *follower) run(ctx context.Context) {
	for ctx.Err() == nil {
		f.beat()
		if !f.waitConnected(ctx) {
			return
		}
		f.connected.Store(true)
		select {
		case <-f.reconnected: // this connection is the one we sync on
		default:
		}
		f.cursor = notifyCursor{}
		if _, err := f.cursor.poll(ctx, f.r); err != nil {
			f.retryLater(ctx, "position in SPDK's notifications", err)
			continue
		}
		if err := f.fullSync(ctx); err != nil {
			f.retryLater(ctx, "full sync", err)
			continue
		}
		f.failures = 0
		f.follow(ctx)
	}
}

// waitConnected waits for the session, failing refresh requests meanwhile
// so that nobody waits on a follower that cannot read.
func (f *follower) waitConnected(ctx context.Context) bool {
	for {
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		err := f.session.WaitConnected(wctx)
		cancel()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		f.beat()
		f.connected.Store(false)
		f.failPending(fmt.Errorf("%w: %w", spdkrpc.ErrDisconnected, err))
	}
}

func (f *follower) failPending(err error) {
	for {
		select {
		case req := <-f.requests:
			req.finish(nil, err)
		default:
			return
		}
	}
}

// retryLater logs a failed read and pauses, answering requests. The pause
// doubles with each costly failure in a row, from 200 ms to 30 s: a read
// that fails for what the node holds (an answer SPDK cannot send) must not
// be repeated at full cost, for SPDK and its other clients, every moment.
func (f *follower) retryLater(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	f.noteFailure(err)
	if costly(err) {
		f.failures++
	} else {
		f.failures = 0
	}
	d := retryDelay(max(f.failures, 1))
	f.log.Warn("following SPDK: "+what+" failed; retrying", "err", err, "in", d, "failures", f.failures)
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case req := <-f.requests:
			req.finish(nil, fmt.Errorf("agent: SPDK state unavailable: %s failed: %w", what, err))
		}
	}
}

// costly reports whether a failed read cost SPDK work that a retry would
// repeat: an answer SPDK built and could not send, or one that was wrong.
// A read that found SPDK stopped or gone cost nothing, and is retried at
// once so that the graph returns as soon as SPDK does.
func costly(err error) bool {
	if errors.Is(err, spdkrpc.ErrReplyTooLarge) {
		return true
	}
	return !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, spdkrpc.ErrDisconnected)
}

// retryDelay is the pause after the n-th failure in a row (n >= 1).
func retryDelay(n int) time.Duration {
	const first, most = 200 * time.Millisecond, 30 * time.Second
	if n > 8 {
		return most
	}
	return min(first<<(n-1), most)
}

// follow polls notifications and serves refresh requests until a full sync
// is needed (new connection, resync period, a change it cannot apply) or ctx
// ends.
func (f *follower) follow(ctx context.Context) {
	tick := time.NewTicker(f.notifyEach)
	defer tick.Stop()
	resync := time.NewTimer(f.resyncEach)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.reconnected:
			f.log.Info("new SPDK connection; full sync")
			return
		case <-resync.C:
			return
		case req := <-f.requests:
			// Requests that queued meanwhile share one read: each was
			// made after the change it waits to see.
			reqs, names, full := f.gather(req)
			if full {
				err := f.fullSync(ctx)
				for _, r := range reqs {
					r.finish(f.current(), err)
				}
				resync.Reset(f.resyncEach)
				continue
			}
			snap, err := f.freshRead(ctx, names)
			for _, r := range reqs {
				r.finish(snap, err)
			}
			if errors.Is(err, spdkrpc.ErrDisconnected) {
				return
			}
		case <-tick.C:
			f.beat()
			evs, err := f.cursor.poll(ctx, f.r)
			if err != nil {
				if errors.Is(err, errNeedFullSync) {
					f.log.Warn("full sync", "err", err)
					return
				}
				if errors.Is(err, spdkrpc.ErrDisconnected) {
					f.connected.Store(false)
					return
				}
				f.noteFailure(err)
				f.log.Warn("polling SPDK notifications", "err", err)
				continue
			}
			f.confirm(time.Now())
			if f.hooks.notifications != nil && len(evs) > 0 {
				f.hooks.notifications(len(evs))
			}
			names := touchedBdevs(evs)
			if len(names) == 0 {
				continue
			}
			if _, err := f.refresh(ctx, names); err != nil {
				if !errors.Is(err, errNeedFullSync) {
					f.log.Warn("refreshing after notifications", "bdevs", names, "err", err)
				}
				return
			}
		}
	}
}

// maxGathered bounds the refresh requests one read serves.
const maxGathered = 256

// gather takes first and the requests already queued behind it, with the
// union of their names.
func (f *follower) gather(first *refreshRequest) (reqs []*refreshRequest, names []string, full bool) {
	reqs, full = []*refreshRequest{first}, first.full
	names = append(names, first.names...)
	for len(reqs) < maxGathered {
		select {
		case r := <-f.requests:
			reqs = append(reqs, r)
			names = append(names, r.names...)
			full = full || r.full
		default:
			return reqs, names, full
		}
	}
	return reqs, names, full
}

// freshRead re-reads names after a call through the agent changed them,
// so that a query right after sees the change. Decisions do not depend on
// it (the guard reads SPDK itself), so SPDK's announcements are left to the
// notification loop. A change a targeted read cannot apply means a full
// sync.
func (f *follower) freshRead(ctx context.Context, names []string) (*Snapshot, error) {
	snap, err := f.refresh(ctx, names)
	if !errors.Is(err, errNeedFullSync) {
		return snap, err
	}
	if err := f.fullSync(ctx); err != nil {
		return nil, err
	}
	return f.current(), nil
}

func (f *follower) beat() {
	if f.hooks.beat != nil {
		f.hooks.beat()
	}
}

// publish stores a new snapshot whose graph was built with generation
// f.gen+1.
func (f *follower) publish(s *Snapshot) {
	f.gen++
	s.Gen = f.gen
	prev := f.snap.Swap(s)
	f.confirm(s.ReadAt)
	if prev != nil {
		logChanges(f.log, prev.Graph, s.Graph)
	}
}

// confirm records a successful read of SPDK's state taken at t.
func (f *follower) confirm(t time.Time) {
	f.confirmed.Store(t.UnixNano())
	f.unanswered.Store(false)
}

// noteFailure records a read SPDK did not answer in time.
func (f *follower) noteFailure(err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		f.unanswered.Store(true)
	}
}
