// Package agent is the daemon that runs beside spdk_tgt: it follows SPDK
// live, publishes immutable lvol graphs, answers queries and guards the SPDK
// calls that pass through its SPDK-compatible socket.
//
//	a, err := agent.New(agent.Config{
//		SPDKSocket: "/var/tmp/spdk.sock",
//		RPCSocket:  "/run/spdk-agent/rpc.sock",
//		StateDir:   "/var/lib/spdk-agent",
//	})
//	if err != nil { ... }
//	err = a.Run(ctx) // until ctx ends, then a graceful shutdown
//
// # Running
//
// "spdk-agent run" maps its flags (each with an SPDK_AGENT_* environment
// fallback) onto [Config]. At start and after every reconnect the agent reads
// lvstores, lvols and bdevs with the three calls in flight together and
// builds one graph. Between full syncs (every --resync-interval) it polls
// notify_get_notifications and re-reads only the bdevs named there, plus
// their parents and children, and applies them with Graph.Update; a gap in
// SPDK's event ring, a new or vanished lvstore, or a new connection means a
// full sync. Calls that change SPDK through the agent refresh what they
// touched before they are answered.
//
// The per-bdev I/O counters of /metrics come from bdev_get_iostat, read
// after every full sync and every --iostat-interval (10s), never at scrape
// time: a scrape does not wait on SPDK. While SPDK does not answer, the last
// counters stay; a bdev's go with the next answer that lacks it.
//
// Invariant 4: the lvstores the agent has seen are remembered in the state
// directory (seen-lvstores.json, written atomically), together with those
// named by --expect-lvstore. Until all of them are back (after an SPDK
// restart lvstores return only as their base bdevs are examined), the graph
// is incomplete: queries say so and every destructive call is refused. An
// lvstore that suddenly lists no lvols is read twice before the graph shows
// it empty, and a graph whose last confirmed read is older than
// --max-graph-age is stale for destructive decisions. agent_forget_lvstore
// retires an lvstore for good.
//
// The SPDK socket's directory is watched: a new socket means reconnect now.
// A crashed spdk_tgt leaves a stale socket and no event; the client's own
// failure detection and backoff cover that.
//
// # The RPC socket
//
// The agent's socket speaks SPDK's framing and error shape, so any SPDK
// client can use it in place of spdk_tgt's. Methods named agent_* are
// answered by the agent: agent_get_status, agent_get_lvstores,
// agent_get_lvols {lvstore}, agent_get_lvol {name}, agent_get_graph
// {lvstore}, agent_plan_cleanup and agent_apply_cleanup {lvstore, replica,
// keep}, agent_forget_lvstore {lvstore}. Their params are decoded strictly.
// The answers of agent_get_graph and agent_get_lvols carry a status
// ([ViewStatus]): whether SPDK is connected, whether the graph is complete
// and fresh, its anomalies and orphan lvols, and one warning sentence per
// reason the answer may be out of date, which the CLI prints as a header.
// rpc_get_methods lists them with SPDK's methods (its last known list while
// SPDK is unreachable).
//
// Disk identities (package diskid) have their own: agent_disk_list (the
// disks, the registry in use and the counters, as "spdk-agent disk list -o
// json" prints them), agent_disk_check (re-read the registry and re-check
// every disk now, as the agent does after registry changes and every
// minute), agent_disk_init {path} and agent_disk_regenerate {path, force}.
// The agent always has a disk manager, so an agent started without --disk
// lists its lvstores' UUIDs only and takes its first disk from
// agent_disk_init; a disk added so is remembered in the state directory
// (registered-disks.json) and managed again after a restart, until
// agent_disk_forget {path} (which leaves its identity file alone and refuses
// --disk disks: the flags own those). Paths must be absolute. init,
// regenerate and forget need a caller on the allow list and are audited,
// regenerate's result with
// the old and the new UUID. Without force, regenerate refuses a disk that
// holds anything besides its identity, like a guard refusal (rule
// disk-in-use). Unknown disks are -19 "No such device", missing
// directories -2, damaged identities -5 "Input/output error", each
// followed by the path or file and the problem.
//
// Every other method is forwarded with its raw params over a small pool of
// pipelined SPDK connections; SPDK's errors come back unchanged. Methods not
// known to be read-only need a caller (SO_PEERCRED) whose uid or gid is on
// the allow list. Destructive calls (bdev_lvol_delete,
// bdev_lvol_delete_lvstore, any bdev_*_delete, bdev_nvme_detach_controller,
// whose namespace bdevs go with it) and the sharp edges the agent
// can recognise (clone_bdev or set_parent_bdev onto a claimed bdev, renames
// of snapshots or of lvols set read-only through the agent, names over 63
// bytes) are checked against a fresh read of the objects involved, which
// takes in every bdev SPDK announced until then. Their params are read by
// exact key, a key given twice is refused, and a target the graph cannot
// resolve is resolved by SPDK itself (an lvstore UUID in capitals, say)
// before anything is left to SPDK's own "No such device". SPDK lists
// read-only nowhere, so the lvols set read-only through the agent are
// remembered in the state directory (read-only-lvols.json, written
// atomically) and forgotten only when a complete graph proves them gone. A refusal
// is code -1 with a message starting "Operation not permitted: <rule>" that
// names the lvols in the way, and data carrying the same facts as JSON.
// Every destructive call, allowed or refused, is written to audit.log in the
// state directory (fsynced) and to the log, with the caller's uid, gid and
// pid.
//
// # Concurrency
//
// One goroutine (the follower) owns the SPDK session used for following:
// it alone reads for the graph and publishes snapshots through an
// atomic.Pointer, so readers never block. Guards, cleanups and the refresh
// after a mutating call ask it for targeted reads over a channel and get back
// the snapshot holding their read. Each request on the socket runs on its
// own goroutine; destructive calls on one lvstore are serialized by a
// per-lvstore lock from the check until the refresh after the call. Calls
// that make an lvol depend on another (bdev_lvol_clone, set_parent, and the
// esnap calls) take the lock of that parent's lvstore too: a clone landing
// between the check of a snapshot with no clones and its delete would let
// SPDK merge the snapshot into the new clone. Everything else runs
// concurrently. On shutdown the socket stops accepting
// and reading, and the calls already read are drained (at most
// Config.ShutdownTimeout) until their answers are written; then the sockets
// and SPDK connections close.
package agent
