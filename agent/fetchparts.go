package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// readInParts reads what readAll reads in calls whose answers stay small
// whatever the node holds. An unfiltered bdev_get_bdevs grows by about
// 1.1 KB per lvol and SPDK cuts any answer at 32 MiB (near 30k lvols), so a
// large node is read as:
//
//  1. bdev_lvol_get_lvstores;
//  2. bdev_lvol_get_lvols of each lvstore, all in flight together (about
//     300 B per lvol: SPDK offers no smaller listing);
//  3. bdev_get_bdevs of each listed lvol by its UUID, and of the bdevs the
//     graph hangs on them (lvstore bases, esnap parents) together with the
//     other bdevs prev knew, maxReadsInFlight at a time.
//
// The parts are read at slightly different moments. An lvstore or lvol
// that went away in between is dropped, as a later read would find it gone;
// one made in between is left for the next read. A non-lvol bdev no lvstore
// or esnap clone uses and prev did not know (one made since, or on a node
// whose first read was in parts) is not read at all: the graph does not
// need it, and it appears once the node is small enough for a whole read.
func (r *reader) readInParts(ctx context.Context, prev *lvolgraph.Graph) (fullState, error) {
	var st fullState
	if err := r.call(ctx, "bdev_lvol_get_lvstores", nil, &st.Lvstores); err != nil {
		return fullState{}, fmt.Errorf("agent: read in parts: lvstores: %w", err)
	}
	lists := make([][]spdkrpc.Lvol, len(st.Lvstores))
	errs := make([]error, len(st.Lvstores))
	var wg sync.WaitGroup
	for i, s := range st.Lvstores {
		wg.Go(func() {
			errs[i] = r.call(ctx, "bdev_lvol_get_lvols", map[string]string{"lvs_uuid": string(s.UUID)}, &lists[i])
		})
	}
	wg.Wait()
	var stores []spdkrpc.Lvstore
	for i, s := range st.Lvstores {
		switch {
		case errors.Is(errs[i], spdkrpc.ErrNotFound):
			continue // gone since it was listed
		case errs[i] != nil:
			return fullState{}, fmt.Errorf("agent: read in parts: lvols of lvstore %s: %w", s.UUID, errs[i])
		}
		stores = append(stores, s)
		st.Lvols = append(st.Lvols, lists[i]...)
	}
	st.Lvstores = stores

	names := make([]string, 0, len(st.Lvols))
	for _, l := range st.Lvols {
		names = append(names, string(l.UUID))
	}
	lvolBdevs, gone, err := r.readBdevs(ctx, names)
	if err != nil {
		return fullState{}, fmt.Errorf("agent: read in parts: %w", err)
	}
	if len(gone) > 0 {
		dropped := map[spdkrpc.LvolUUID]bool{}
		for _, n := range gone {
			dropped[spdkrpc.LvolUUID(n)] = true
		}
		kept := st.Lvols[:0]
		for _, l := range st.Lvols {
			if !dropped[l.UUID] {
				kept = append(kept, l)
			}
		}
		st.Lvols = kept
	}

	read := map[string]bool{}
	for _, b := range lvolBdevs {
		read[string(b.Name)] = true
		read[string(b.UUID)] = true
		for _, a := range b.Aliases {
			read[a] = true
		}
	}
	more := newNameSet()
	want := func(n string) {
		if !read[n] {
			more.add(n)
		}
	}
	for _, s := range st.Lvstores {
		want(string(s.BaseBdev))
	}
	for _, b := range lvolBdevs {
		if info, ok := b.LvolInfo(); ok && info.EsnapClone {
			want(string(info.ExternalSnapshotName))
		}
	}
	if prev != nil {
		for _, b := range prev.Bdevs() {
			want(string(b.Name))
		}
	}
	others, _, err := r.readBdevs(ctx, more.list)
	if err != nil {
		return fullState{}, fmt.Errorf("agent: read in parts: %w", err)
	}
	st.Bdevs = uniqueBdevs(append(lvolBdevs, others...))
	return st, nil
}
