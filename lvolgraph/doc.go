// Package lvolgraph holds an immutable graph of a node's lvstores and lvols
// and the rules that decide what may be deleted.
//
// # Building
//
// [Build] joins the three listings SPDK gives: bdev_lvol_get_lvstores,
// bdev_lvol_get_lvols (which lists degraded lvols but no links) and
// bdev_get_bdevs (whose driver_specific.lvol carries base_snapshot, clones
// and external_snapshot_name). Identities are typed (see package spdkrpc); a
// string that may be a name, an alias or a UUID becomes a [Ref] through
// [ParseRef], which says which one it is, and is never compared across kinds.
//
// Listings that do not add up are not an error: a clone whose snapshot is
// missing, an lvol bdev_get_bdevs does not list, an esnap clone whose base is
// gone, a duplicated UUID, a clones list that disagrees with the clones
// themselves are kept and recorded as [Anomaly] values of their lvstore.
// While an lvstore has anomalies, [Graph.Trustworthy] is false for it and
// neither the planner nor the guard lets anything there be deleted.
//
// # Updating
//
// A Graph never changes. [Graph.Update] applies fresh entries for a few
// objects and removals of others and returns a new Graph that shares every
// part it did not touch: lvols are kept in sharded persistent maps, so an
// update copies a few shards of a few hundred entries whatever the size of
// the graph. The agent holds the current graph in an atomic pointer; readers
// never wait. [Diff] tells what changed between two versions.
//
// # Deciding
//
// [PlanCleanup] lists the lvols of a replica that may be deleted, leaves
// first, and every candidate it refuses with a [Rule] and a reason.
// [Graph.CheckDeleteLvol], [Graph.CheckDeleteLvstore] and
// [Graph.CheckDeleteBdev] say what the graph allows of lvols, lvstores and
// bdevs, for views and metrics; the calls passing through the agent are
// judged by package agent/guard, on a fresh read of the whole bdev stack.
// Protection is structural:
// a backing image is an lvol other owners' lvols read from, or the external
// snapshot of an esnap clone, whatever its name; names (see [Ownership]) are
// hints that can only add protection. [Graph.Orphans] lists the lvols no
// replica owns any more, such as snapshots left behind by a deleted replica.
//
//	g := lvolgraph.Build(gen, time.Now(), lvolgraph.Inputs{Lvstores: stores, Lvols: lvols, Bdevs: bdevs})
//	plan, err := lvolgraph.PlanCleanup(g, lvolgraph.CleanupRequest{
//		Lvstore: lvolgraph.ParseRef("lvs0"),
//		Replica: "pvc-b-r-2",
//		Keep:    []lvolgraph.Ref{lvolgraph.ParseRef("pvc-b-r-2-snap-s1")},
//	})
//	for _, step := range plan.Delete {
//		// bdev_lvol_delete step.UUID; "No such device" means done.
//	}
//
// # Concurrency
//
// A Graph is safe for concurrent use by any number of goroutines. The
// package has no locks, no goroutines and does no I/O.
package lvolgraph
