package lvolgraph

import "github.com/spdk-agent/spdk-agent/spdkrpc"

// Parent links come from SPDK's listings, and garbage listings can make them
// loop. Every walk up the graph is bounded, and lvols on a loop are recorded
// as an anomaly.

// findCycles marks every lvol that lies on a parent loop, in one pass over
// the whole graph (used by Build).
func (e *editor) findCycles() {
	const (
		unseen = iota
		onPath
		done
	)
	// The state lives in the nodes, which a fresh build owns; it is reset
	// to zero (unseen) before the graph is published.
	var path []*Lvol
	e.lvols.each(func(_ spdkrpc.LvolUUID, start *Lvol) bool {
		path = path[:0]
		l := start
		for l != nil && l.mark == unseen {
			l.mark = onPath
			path = append(path, l)
			if l.Parent.Lvol == "" {
				l = nil
				break
			}
			l, _ = e.lvols.get(l.Parent.Lvol)
		}
		if l != nil && l.mark == onPath {
			// l closes a loop: mark it and everything after it on the path.
			for i := len(path) - 1; i >= 0; i-- {
				e.cycles[path[i].UUID] = true
				if path[i] == l {
					break
				}
			}
		}
		for _, p := range path {
			p.mark = done
		}
		return true
	})
	e.lvols.each(func(_ spdkrpc.LvolUUID, l *Lvol) bool {
		l.mark = unseen
		return true
	})
}

// cycleThrough records whether u lies on a parent loop (used by updates,
// for the lvols they check).
func (e *editor) cycleThrough(u spdkrpc.LvolUUID) {
	seen := map[spdkrpc.LvolUUID]bool{}
	for cur := u; cur != "" && !seen[cur]; {
		seen[cur] = true
		l, ok := e.lvols.get(cur)
		if !ok {
			break
		}
		cur = l.Parent.Lvol
		if cur == u {
			e.cycles[u] = true
			return
		}
	}
	delete(e.cycles, u)
}
