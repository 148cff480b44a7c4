package agent

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// readState does a full sync's read: whole (three listings in one SPDK
// poll, the most consistent read there is) while the node is small, in
// parts (readInParts) while it is large. The size is the previous graph's;
// without one it is unknown, and the node is read in parts first and then,
// if small, whole. It switches to parts above partsAbove lvols, or when SPDK
// cuts a whole listing, and back to whole below half of partsAbove once the
// node is also clearly smaller than when it was cut.
func (f *follower) readState(ctx context.Context, prev *Snapshot) (fullState, error) {
	var g *lvolgraph.Graph
	lvols := 0 // the node's size as last known
	if prev != nil && prev.Graph != nil {
		g = prev.Graph
		lvols = g.Len()
	}
	switch {
	case g == nil && !f.inParts.Load():
		st, err := f.r.readInParts(ctx, nil)
		if err != nil || len(st.Lvols) > f.partsAbove {
			f.setInParts(err == nil, len(st.Lvols))
			return st, err
		}
		lvols = len(st.Lvols)
	case g != nil && f.inParts.Load() && lvols <= f.partsAbove/2 && !f.cut.blocks(lvols):
		f.setInParts(false, lvols)
	case g != nil && !f.inParts.Load() && lvols > f.partsAbove:
		f.setInParts(true, lvols)
	}
	if f.inParts.Load() {
		return f.r.readInParts(ctx, g)
	}
	st, err := f.r.readAll(ctx)
	if errors.Is(err, spdkrpc.ErrReplyTooLarge) {
		f.cut.note(lvols)
		f.log.Warn("SPDK cut a whole listing at its send buffer; reading in parts from now on", "lvols", lvols, "err", err)
		f.setInParts(true, lvols)
		return fullState{}, err
	}
	if err == nil {
		f.cut.clear()
	}
	return st, err
}

func (f *follower) setInParts(on bool, lvols int) {
	if f.inParts.Swap(on) == on {
		return
	}
	if on {
		f.log.Info("full syncs read SPDK in parts", "lvols", lvols, "above", f.partsAbove)
	} else {
		f.log.Info("full syncs read SPDK's whole listings", "lvols", lvols)
	}
}

// cutMemo remembers that SPDK cut a whole listing, and the lvol count of
// the graph then. A whole read is worth trying again only once the node is
// clearly smaller: each cut costs SPDK a 32 MiB buffer and thousands of log
// lines, and breaks every call in flight on that connection.
type cutMemo struct{ atLvols atomic.Int64 } // 0: no cut known

// note records a cut at a node of n lvols (0 when unknown).
func (m *cutMemo) note(n int) { m.atLvols.Store(int64(max(n, 1))) }

func (m *cutMemo) clear() { m.atLvols.Store(0) }

// blocks reports whether a whole read of a node of n lvols would likely be
// cut again: one is known, and the node has not shrunk by a tenth since.
func (m *cutMemo) blocks(n int) bool {
	at := m.atLvols.Load()
	return at > 0 && int64(n)*10 >= at*9
}
