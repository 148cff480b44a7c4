// Package spdksim is an in-memory SPDK target: lvstores, lvols, snapshots,
// clones and external-snapshot clones on malloc and aio bdevs and on the
// stacking modules (split, passthru, raid0/raid1/concat, and lvols of
// other lvstores), answering the same methods with the same shapes,
// errors and framing as a real spdk_tgt.
// It is the fake for every test above spdkrpc, and the target of the demo.
//
// # Fidelity
//
// The recordings of a real spdk_tgt v26.05 replay against it, in process
// and over its socket, reply for reply (UUIDs aside). It reproduces the
// target's defects too: deleting the base bdev of an esnap clone never
// answers and a later delete of the clone crashes the target, a clone in an
// lvstore out of metadata pages crashes it, renames half-apply. Turn them
// into plain errors with [Options.NoDefects].
//
// Beyond the recordings it is checked against a real target with seeded
// random sequences (package difftest): blob ids, md pages and clusters
// are accounted as SPDK's blobstore does, each method checks in SPDK's
// order, and an lvstore hot-removed from under a stacked bdev is found
// again by examine on any bdev that starts at the same blocks.
//
// # Use
//
// [Target] is the model as an spdkserver.Handler, usable in process with
// [Target.Call]. [Sim] puts it on a Unix socket and adds the process-level
// events of a target: [Sim.Crash], [Sim.Restart] (aio files keep their
// lvstores, as disks do) and the server's faults.
//
//	sim := spdksim.New(spdksim.Options{})
//	if err := sim.Start(ctx, "/tmp/spdk.sock"); err != nil { ... }
//	defer sim.Close()
//	node, err := sim.BuildDemoNode(ctx, t.TempDir())
//
// # Concurrency
//
// One mutex guards the model; requests are applied in arrival order.
package spdksim
