// Package spdksim is an in-memory SPDK target: lvstores, lvols, snapshots,
// clones and external-snapshot clones on malloc and aio bdevs, answering the
// same methods with the same shapes, errors and framing as a real spdk_tgt.
// It is the fake for every test above spdkrpc, and the target of the demo.
package spdksim
