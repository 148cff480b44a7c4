// Package difftest drives the SPDK simulator and a real spdk_tgt with the
// same seeded random sequence of lvol and bdev calls and reports the first
// step at which their answers, or their states, differ.
//
// # What is compared
//
// Every reply is normalized before comparison: each UUID becomes a token
// numbered by the order in which it first appeared on that side (so the
// simulator's and the target's random UUIDs line up), and the directory
// of each side's aio files becomes @DIR@. Requests are written with those
// tokens and filled in per side, so "the UUID of the third object seen"
// names the same object on both. Every few steps the whole state
// (bdev_get_bdevs, bdev_lvol_get_lvstores, bdev_lvol_get_lvols) is
// compared too.
//
// # The generator
//
// [Generator] picks calls over the whole lvol method set and the bdev
// modules lvstores stand on (malloc, aio, split, passthru, raid0, raid1,
// concat), with deliberate errors: missing objects, duplicate and
// boundary names, wrong types, unknown keys, UUIDs in capitals. It reads
// the simulator's state before each step and keeps out of the stream the
// calls that hang or crash a real spdk_tgt v26.05 (deleting an esnap
// parent, set_parent cycles, clones with metadata pages exhausted,
// over-long multibyte renames, esnap clones of claimed bdevs); those are
// covered by the simulator's own tests.
//
// # Use
//
//	res, err := difftest.Run(ctx, difftest.Config{Seed: 1, Steps: 300, Real: sock, Dir: dir})
//	if res.Diff != nil { fmt.Print(res.Diff) }
//
// The command hack/difftest runs many seeds against a target it starts.
package difftest
