package agent

import (
	"log/slog"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
)

// maxLoggedChanges bounds the per-lvol lines one new graph logs; the rest
// are counted in one summary line (a restarted SPDK can drop thousands).
const maxLoggedChanges = 20

// logChanges logs what a new graph changed against the previous one: the
// operator's trail of lvols appearing, vanishing, changing parent or size.
// lvolgraph.Diff skips the shards an update did not touch, so this costs
// about what the update did.
func logChanges(log *slog.Logger, old, new *lvolgraph.Graph) {
	if old == nil || new == nil {
		return // the first graph: everything would be "added"
	}
	c := lvolgraph.Diff(old, new)
	if c.Empty() {
		return
	}
	logged := 0
	line := func(msg string, args ...any) {
		if logged < maxLoggedChanges {
			log.Info(msg, args...)
		}
		logged++
	}
	for _, l := range c.Added {
		line("lvol added", "lvol", l.Alias, "uuid", l.UUID, "generation", new.Generation())
	}
	for _, l := range c.Removed {
		line("lvol removed", "lvol", l.Alias, "uuid", l.UUID, "generation", new.Generation())
	}
	for _, r := range c.Reparented {
		line("lvol parent changed", "lvol", r.Lvol.Alias, "uuid", r.Lvol.UUID, "old_parent", parentName(old, r.Old), "new_parent", parentName(new, r.New), "generation", new.Generation())
	}
	for _, r := range c.Resized {
		line("lvol resized", "lvol", r.Lvol.Alias, "uuid", r.Lvol.UUID, "old_bytes", r.Old, "new_bytes", r.New, "generation", new.Generation())
	}
	if logged > maxLoggedChanges {
		log.Info("more lvol changes not logged one by one", "added", len(c.Added), "removed", len(c.Removed),
			"reparented", len(c.Reparented), "resized", len(c.Resized), "not_logged", logged-maxLoggedChanges, "generation", new.Generation())
	}
}

// parentName names p for a log line: the parent lvol's alias, the external
// bdev's UUID, or "none".
func parentName(g *lvolgraph.Graph, p lvolgraph.Parent) string {
	switch {
	case p.IsLvol():
		if l, ok := g.Lvol(lvolgraph.UUIDRef(p.Lvol)); ok {
			return string(l.Alias)
		}
		return string(p.Lvol)
	case p.Bdev != "":
		return "bdev " + string(p.Bdev)
	}
	return "none"
}
