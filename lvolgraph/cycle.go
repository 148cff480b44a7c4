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
	state := make(map[spdkrpc.LvolUUID]uint8, e.lvols.m.len())
	var path []spdkrpc.LvolUUID
	e.lvols.each(func(start spdkrpc.LvolUUID, _ *Lvol) bool {
		path = path[:0]
		u := start
		for u != "" && state[u] == unseen {
			state[u] = onPath
			path = append(path, u)
			l, ok := e.lvols.get(u)
			if !ok {
				break
			}
			u = l.Parent.Lvol
		}
		if u != "" && state[u] == onPath {
			// u closes a loop: mark it and everything after it on the path.
			for i := len(path) - 1; i >= 0; i-- {
				e.cycles[path[i]] = true
				if path[i] == u {
					break
				}
			}
		}
		for _, p := range path {
			state[p] = done
		}
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
