package lvolgraph

import (
	"slices"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Change is the difference between two graphs, for logs and events.
type Change struct {
	Added      []*Lvol    `json:"-"`
	Removed    []*Lvol    `json:"-"`
	Reparented []Reparent `json:"-"`
	Resized    []Resize   `json:"-"`
}

// Reparent is an lvol whose parent changed.
type Reparent struct {
	Lvol     *Lvol
	Old, New Parent
}

// Resize is an lvol whose size changed.
type Resize struct {
	Lvol     *Lvol
	Old, New uint64
}

// Empty reports whether nothing changed.
func (c Change) Empty() bool {
	return len(c.Added) == 0 && len(c.Removed) == 0 && len(c.Reparented) == 0 && len(c.Resized) == 0
}

// Diff compares two graphs. Parts that old and new share (everything an
// Update did not touch) are skipped without being walked, so diffing a
// graph with its update costs about as much as the update.
func Diff(old, new *Graph) Change {
	var c Change
	if old == nil {
		old = &Graph{}
	}
	if new == nil {
		new = &Graph{}
	}
	for i := 0; i < shardCount; i++ {
		if sameShard(old.lvols, new.lvols, i) {
			continue
		}
		var o, n map[spdkrpc.LvolUUID]*Lvol
		if old.lvols.shards != nil && old.lvols.shards[i] != nil {
			o = old.lvols.shards[i].m
		}
		if new.lvols.shards != nil && new.lvols.shards[i] != nil {
			n = new.lvols.shards[i].m
		}
		for u, nl := range n {
			ol, ok := o[u]
			switch {
			case !ok:
				c.Added = append(c.Added, nl)
			case ol == nl:
			default:
				if ol.Parent != nl.Parent {
					c.Reparented = append(c.Reparented, Reparent{Lvol: nl, Old: ol.Parent, New: nl.Parent})
				}
				if ol.Size != nl.Size {
					c.Resized = append(c.Resized, Resize{Lvol: nl, Old: ol.Size, New: nl.Size})
				}
			}
		}
		for u, ol := range o {
			if _, ok := n[u]; !ok {
				c.Removed = append(c.Removed, ol)
			}
		}
	}
	sortLvols(c.Added)
	sortLvols(c.Removed)
	slices.SortFunc(c.Reparented, func(a, b Reparent) int { return strings.Compare(string(a.Lvol.UUID), string(b.Lvol.UUID)) })
	slices.SortFunc(c.Resized, func(a, b Resize) int { return strings.Compare(string(a.Lvol.UUID), string(b.Lvol.UUID)) })
	return c
}
