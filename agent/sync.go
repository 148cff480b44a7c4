package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// errNeedFullSync is returned by refresh when what it read cannot be merged
// into the graph piecewise (an lvol of an lvstore the graph does not know:
// lvstores come back after an SPDK restart as their base bdevs are examined).
var errNeedFullSync = errors.New("agent: change needs a full sync")

// refreshRequest asks the owner goroutine for a fresh read of some objects
// (or of everything) merged into a new snapshot.
type refreshRequest struct {
	names []string
	full  bool
	done  chan refreshResult // buffered 1
}

type refreshResult struct {
	snap *Snapshot
	err  error
}

func (r *refreshRequest) finish(s *Snapshot, err error) { r.done <- refreshResult{s, err} }

// request asks the owner for a targeted refresh of names (bdev names, lvol
// aliases or UUIDs) and returns the snapshot that holds the fresh read.
func (f *follower) request(ctx context.Context, names []string, full bool) (*Snapshot, error) {
	req := &refreshRequest{names: names, full: full, done: make(chan refreshResult, 1)}
	select {
	case f.requests <- req:
	case <-ctx.Done():
		return nil, fmt.Errorf("agent: refresh %v: %w", names, ctx.Err())
	}
	select {
	case res := <-req.done:
		return res.snap, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("agent: refresh %v: %w", names, ctx.Err())
	}
}

// maxConfirmReads bounds how often a full sync re-reads an lvstore that
// suddenly reports no lvols before it gives up for this round.
const maxConfirmReads = 3

// fullSync reads everything and publishes a new graph. An lvstore that had
// lvols and now lists none is read a second time before the graph shows it
// empty (invariant 4): a store mid-load must not look like a store emptied.
func (f *follower) fullSync(ctx context.Context) error {
	start := time.Now()
	err := f.fullSyncOnce(ctx)
	if f.hooks.sync != nil {
		f.hooks.sync("full", time.Since(start), err)
	}
	return err
}

func (f *follower) fullSyncOnce(ctx context.Context) error {
	prev := f.current()
	var st fullState
	var readAt time.Time
	for attempt := 1; ; attempt++ {
		var err error
		readAt = time.Now()
		st, err = f.readState(ctx, prev)
		if err != nil {
			return err
		}
		emptied := suddenlyEmpty(prev, st)
		confirmed := true
		for _, lvs := range emptied {
			again, err := f.r.readLvolsOf(ctx, lvs)
			if err != nil && !errors.Is(err, spdkrpc.ErrNotFound) {
				return err
			}
			if len(again) > 0 {
				confirmed = false
				f.log.Warn("lvstore listed no lvols, then some: reading again", "lvstore", lvs, "lvols", len(again))
			}
		}
		if confirmed {
			break
		}
		if attempt == maxConfirmReads {
			return fmt.Errorf("agent: lvstore lvol listings kept changing over %d reads", attempt)
		}
	}
	g := lvolgraph.Build(f.gen+1, readAt, lvolgraph.Inputs{Lvstores: st.Lvstores, Lvols: st.Lvols, Bdevs: st.Bdevs})
	if err := f.seen.remember(st.Lvstores, readAt); err != nil {
		// The graph is still right; only the memory of it failed.
		f.log.Error("remembering seen lvstores", "err", err)
	}
	if f.hooks.lvstores != nil {
		f.hooks.lvstores(st.Lvstores)
	}
	snap := &Snapshot{
		Graph:      g,
		ReadAt:     readAt,
		FullSyncAt: readAt,
		Synced:     true,
		Missing:    expectation{configured: f.configured, seen: f.seen.list()}.missing(st.Lvstores),
	}
	f.publish(snap)
	if f.hooks.complete != nil && snap.Complete() {
		f.hooks.complete(st, readAt)
	}
	if f.hooks.fullSync != nil {
		f.hooks.fullSync(snap)
	}
	// What is missing is logged when it changes, not at every full sync.
	switch {
	case !slices.Equal(snap.Missing, f.lastMissing) && len(snap.Missing) > 0:
		f.log.Warn("graph incomplete: expected lvstores missing", "missing", snap.Missing, "gen", snap.Gen)
	case !slices.Equal(snap.Missing, f.lastMissing):
		f.log.Info("graph complete: every expected lvstore is back", "gen", snap.Gen, "lvstores", len(st.Lvstores), "lvols", len(st.Lvols))
	default:
		f.log.Debug("full sync", "gen", snap.Gen, "lvstores", len(st.Lvstores), "lvols", len(st.Lvols), "missing", snap.Missing, "took", time.Since(readAt))
	}
	f.lastMissing = snap.Missing
	return nil
}

// suddenlyEmpty returns the lvstores that list no lvols now but had some in
// the previous graph.
func suddenlyEmpty(prev *Snapshot, st fullState) []spdkrpc.LvstoreUUID {
	if prev == nil || prev.Graph == nil {
		return nil
	}
	count := map[spdkrpc.LvstoreUUID]int{}
	for _, l := range st.Lvols {
		count[l.Lvs.UUID]++
	}
	var out []spdkrpc.LvstoreUUID
	for _, lvs := range st.Lvstores {
		if count[lvs.UUID] == 0 && len(prev.Graph.Lvols(lvs.UUID)) > 0 {
			out = append(out, lvs.UUID)
		}
	}
	return out
}

// refresh re-reads the named objects and their neighbours (parent,
// children, esnap clones, before and after) and publishes the merged graph.
func (f *follower) refresh(ctx context.Context, names []string) (*Snapshot, error) {
	start := time.Now()
	snap, err := f.refreshOnce(ctx, names)
	if f.hooks.sync != nil {
		f.hooks.sync("targeted", time.Since(start), err)
	}
	return snap, err
}

func (f *follower) refreshOnce(ctx context.Context, names []string) (*Snapshot, error) {
	prev := f.current()
	if prev == nil || prev.Graph == nil {
		return nil, errNeedFullSync
	}
	g := prev.Graph
	readAt := time.Now()
	targets := newNameSet()
	for _, n := range names {
		targets.add(n)
		for _, nb := range neighbours(g, n) {
			targets.add(nb)
		}
	}
	// The lvstores' listing is small and changes with every allocation; it
	// also tells whether an lvstore came or went (then a full sync is due).
	var lvstores []spdkrpc.Lvstore
	var lvsErr error
	var wg sync.WaitGroup
	wg.Go(func() { lvsErr = f.r.call(ctx, "bdev_lvol_get_lvstores", nil, &lvstores) })
	found, missing, err := f.r.readBdevs(ctx, targets.list)
	wg.Wait()
	if err = errors.Join(err, lvsErr); err != nil {
		return nil, err
	}
	if err := sameLvstores(g, lvstores); err != nil {
		return nil, err
	}
	// What SPDK says now may name neighbours the graph did not know (a new
	// clone's parent): read those too, one more round.
	more := newNameSet()
	for _, b := range found {
		for _, nb := range freshNeighbours(g, b) {
			if !targets.has(nb) {
				more.add(nb)
			}
		}
	}
	if len(more.list) > 0 {
		f2, m2, err := f.r.readBdevs(ctx, more.list)
		if err != nil {
			return nil, err
		}
		found, missing = append(found, f2...), append(missing, m2...)
	}
	found = uniqueBdevs(found)
	var entries []spdkrpc.Lvol
	// The fresh names, not the graph's: an lvstore may have been renamed.
	lvsNames := map[spdkrpc.LvstoreUUID]spdkrpc.LvstoreName{}
	for _, l := range lvstores {
		lvsNames[l.UUID] = l.Name
	}
	for _, b := range found {
		var lvsName spdkrpc.LvstoreName
		if info, ok := b.LvolInfo(); ok {
			if _, known := g.Lvstore(lvolgraph.UUIDRef(info.LvolStoreUUID)); !known {
				return nil, fmt.Errorf("%w: lvol %s of unknown lvstore %s", errNeedFullSync, b.Name, info.LvolStoreUUID)
			}
			lvsName = lvsNames[info.LvolStoreUUID]
		}
		if e, ok := lvolEntryFromBdev(b, lvsName); ok {
			entries = append(entries, e)
		}
	}
	var removed []spdkrpc.BdevName
	for _, n := range missing {
		if bn, ok := knownBdevName(g, n); ok {
			removed = append(removed, bn)
		}
	}
	g2 := g.Update(f.gen+1, readAt, lvolgraph.Update{Lvstores: lvstores, Lvols: entries, Bdevs: found, RemovedBdevs: removed})
	snap := &Snapshot{Graph: g2, ReadAt: readAt, FullSyncAt: prev.FullSyncAt, Synced: prev.Synced, Missing: prev.Missing}
	f.publish(snap)
	return snap, nil
}

// sameLvstores returns errNeedFullSync when the fresh lvstore listing has
// an lvstore the graph lacks, or lacks one the graph lists.
func sameLvstores(g *lvolgraph.Graph, fresh []spdkrpc.Lvstore) error {
	have := map[spdkrpc.LvstoreUUID]bool{}
	for _, l := range fresh {
		have[l.UUID] = true
		if _, ok := g.Lvstore(lvolgraph.UUIDRef(l.UUID)); !ok {
			return fmt.Errorf("%w: new lvstore %s (%s)", errNeedFullSync, l.Name, l.UUID)
		}
	}
	for _, l := range g.Lvstores() {
		if l.Listed && !have[l.UUID] {
			return fmt.Errorf("%w: lvstore %s (%s) is gone", errNeedFullSync, l.Name, l.UUID)
		}
	}
	return nil
}

// uniqueBdevs drops repeated bdevs (one read by alias, again by UUID).
func uniqueBdevs(bs []spdkrpc.Bdev) []spdkrpc.Bdev {
	seen := map[spdkrpc.BdevName]bool{}
	out := bs[:0]
	for _, b := range bs {
		if !seen[b.Name] {
			seen[b.Name] = true
			out = append(out, b)
		}
	}
	return out
}

// nameSet is an ordered set of names.
type nameSet struct {
	list []string
	m    map[string]bool
}

func newNameSet() *nameSet { return &nameSet{m: map[string]bool{}} }

func (s *nameSet) add(n string) {
	if n != "" && !s.m[n] {
		s.m[n] = true
		s.list = append(s.list, n)
	}
}

func (s *nameSet) has(n string) bool { return s.m[n] }
