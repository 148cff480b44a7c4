// Package diskid gives disks identities whose short prefixes never collide,
// and persists them so that nothing is ever half-written.
//
// Other components name things after the first few hex digits of a disk's
// UUID (4 by default). With 65,536 possible prefixes two disks of a fleet
// share one after a few hundred disks, and two components then get the same
// name. This package makes the prefix unique within its collision domain:
// every local disk plus a cluster registry of every disk's UUID.
//
// # Disks
//
// A filesystem disk is a directory; its identity is the small JSON file
// IdentityFile in it (UUID, name, creation time, format version). It is
// created exactly once and replaced only by regeneration, always by writing a
// temporary file, fsyncing it, renaming it into place and fsyncing the
// directory, under an flock on the directory, never following a symlink. A
// file that is empty, truncated, unparsable or holds a malformed UUID marks
// the disk failed; it is never silently replaced.
//
// An lvstore disk's identity is its lvstore UUID, which SPDK owns: its
// collisions are reported, never fixed. The agent feeds lvstores in with
// [Manager.SetLvstores].
//
// # Registry
//
// The registry ([Registry]) is a JSON file, usually a mounted ConfigMap.
// [Manager.Run] watches its directory, re-reads it after changes settle, and
// adopts only content that parses, is not empty and does not drop more known
// disks at once than Config.MaxDropFraction. A rejected update keeps the last
// good registry (saved in Config.StateDir for the next start-up), is logged
// and counted in [Counters].
//
// # Collisions
//
// When a prefix is shared, the local disk yields to a registry entry (never
// the other way round), and among local disks an lvstore, then a disk in
// use, then the oldest identity keeps its UUID. A yielding disk that holds
// nothing but its identity file is regenerated when Config.RegenerateUnused
// is on; any other gets a prefix-collision condition until an operator runs
// "spdk-agent disk regenerate PATH --force". Names that can be chosen freely
// should not use prefixes at all: see [ComponentName].
//
// # Concurrency
//
// A [Manager] is safe for concurrent use. Desired disks may be added and
// removed while a check or regeneration runs; the result for a disk removed
// meanwhile is dropped, and every lookup answers (value, ok).
//
// # Example
//
//	cfg := diskid.DefaultConfig()
//	cfg.Node = "node-1"
//	cfg.RegistryPath = "/etc/spdk-agent/registry/registry.json"
//	cfg.StateDir = "/var/lib/spdk-agent"
//	m, err := diskid.NewManager(cfg)
//	if err != nil {
//		return err
//	}
//	if _, err := m.Init(ctx, "/mnt/disk1"); err != nil {
//		return err // names the file and the problem
//	}
//	go m.Run(ctx) // watch the registry until ctx is done
//	for _, d := range m.Disks() {
//		fmt.Println(d.Path, d.UUID, d.State)
//	}
package diskid
