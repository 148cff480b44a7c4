// Package guard decides which SPDK calls may pass through the agent. It is
// pure: it reads a fresh listing of SPDK ([Read], decoded into a [State])
// and one call's params, and returns a [Decision]; the agent does the I/O
// around it.
//
// # Every method has a class
//
// [Lookup] classifies every method of SPDK v26.05's rpc_get_methods:
// [ReadOnly] (forwarded to anyone), [Mutating] outside the volume graph
// (forwarded for callers on the allow list, audited), [Graph] (serialized
// with each other and decided by a check), [Refused]. A method the table
// does not know, from a newer SPDK, is refused unless an operator allows
// it.
//
// # Resolve as SPDK resolves, then forward what was checked
//
// Each check finds its objects exactly as the method does in SPDK:
// spdk_bdev_get_by_name (a bdev name or alias, compared exactly) for almost
// all of them; bdev_lvol_delete falls back to an lvol UUID in any case and
// then to "lvstore/lvol" names (see [State.LvolForDelete]); lvstores by
// exact name or by a UUID in any case. The params are then re-encoded from
// the values read, with each resolved object named canonically (an lvol by
// its UUID, a bdev by its name), so SPDK acts on exactly what was judged.
// Params SPDK's decoder would read differently from Go's (a key given
// twice, a NUL in a name, invalid UTF-8) are refused.
//
// # The dependency graph is the whole stack
//
// [State] links everything that stands on something: an lvstore on its base
// bdev (an lvol of another lvstore, a split, a raid, a passthru, ...), an
// lvol on its lvstore, a clone on its snapshot, an esnap clone on its
// external bdev, stacked bdevs on their bases (from driver_specific), and
// any bdev SPDK reports as claimed on its claimant, named or not. A call is
// refused when it would remove, rewrite, shrink or overwrite something that
// anything outside the call stands on; the refusal names the dependents.
// Chain rewrites (set_parent, set_parent_bdev, decouple_parent, inflate)
// need an lvol no one reads from, and a new parent that does not read from
// it (no cycle). Caution is scoped: listings that disagree about one
// lvstore block decisions on that lvstore's lvols only.
package guard
