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
// Every other method goes through the guard (package guard), whose table
// classifies each method of spdk_tgt v26.05: read-only (forwarded with its
// raw params), mutating outside the volume graph (callers on the allow
// list, SO_PEERCRED uid or gid; audited), graph-changing (see below) or
// refused; a method the table does not know is refused unless
// Config.AllowMethods names it. Params holding a number SPDK's decoder
// would spin on are refused for every method.
//
// A graph-changing call waits for the gate (at most its deadline), takes a
// fresh read of bdev_get_bdevs, bdev_lvol_get_lvstores and
// bdev_lvol_get_lvols (creates need none), and is decided by the guard on
// that read: objects resolved as SPDK resolves them, the whole stack's
// dependents, chain rewrites, shrinks, copies and renames checked. An
// allowed call is forwarded with the params the guard re-encoded (objects
// named by UUID) and audited with both; a refusal is code -1 with a message
// starting "Operation not permitted: <rule>" that names the objects in the
// way, and data carrying the same facts as JSON (params the guard cannot
// read as SPDK would are -32602). A rename SPDK fails half done is
// repaired at once by renaming back. SPDK lists read-only nowhere, so the
// lvols set read-only through the agent are remembered in the state
// directory (read-only-lvols.json, written atomically) and forgotten only
// when a complete graph proves them gone. While lvstores the agent expects
// are missing, every graph call that needs a read is refused. Every
// destructive call, allowed or refused, is written to audit.log in the
// state directory (fsynced) and to the log, with the caller's uid, gid and
// pid.
//
// Every forwarded call has a deadline (Config.CallTimeout, per method
// Config.MethodTimeouts). Past it the caller gets -110 at once; a graph
// call releases the gate and its objects stay uncertain (refused for graph
// calls, listed by agent_get_status) until SPDK answers it late or a fresh
// read shows them gone.
//
// # Concurrency
//
// One goroutine (the follower) owns the SPDK session used for following:
// it alone reads for the graph and publishes snapshots through an
// atomic.Pointer, so readers never block. Cleanups and the refresh after a
// mutating call ask it for targeted reads over a channel and get back the
// snapshot holding their read. Each request on the socket runs on its own
// goroutine. Graph-changing calls pass one gate, from their fresh read
// until SPDK answers: nothing that goes through the agent changes SPDK
// between a check and the call it allowed (a clone landing between the
// check of a snapshot with no clones and its delete would let SPDK merge
// the snapshot into the new clone). Deployed as the sole gateway (spdk_tgt's
// socket private to the agent, the agent serving SPDK's well-known path)
// nothing else can. Everything else runs concurrently. On shutdown the
// socket stops accepting and reading, and the calls already read are
// drained (at most Config.ShutdownTimeout) until their answers are written;
// then the sockets and SPDK connections close.
package agent
