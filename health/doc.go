// Package health serves liveness, readiness and Prometheus metrics over HTTP
// on a Unix socket, and exports the node's lvol and disk state as metrics.
//
// It knows checks only by name and function, and the node only by the plain
// [NodeState] it is handed at scrape time: how a check is computed, or where
// the state comes from, is the agent's business.
//
// # Endpoints
//
// The endpoints follow the Kubernetes API server:
//
//	GET /livez                  200 "ok", or 503 with one "[-]name failed: reason" line per failure
//	GET /readyz                 the same for readiness; /healthz is an alias of /readyz
//	GET /readyz?verbose         every check as "[+]name ok" or "[-]name failed: reason",
//	                            then "readyz check passed" or "readyz check failed"
//	GET /readyz?exclude=spdk    skip a check (repeatable); listed as "[+]spdk excluded: ok"
//	GET /readyz/spdk            one check; 404 for an unknown name
//	GET /metrics                Prometheus text format, when Options.Gatherer is set
//
// Checks run concurrently, each bounded by Options.CheckTimeout; a check
// that does not return in time fails with [ErrCheckTimeout]. Failures and
// recoveries are logged once, not at every probe.
//
// # What live and ready mean
//
// Live means the agent's own loops make progress: each loop calls
// [Heartbeat.Beat] once per iteration, and its livez check fails when the
// last beat is older than a limit. A stuck loop is not live, and kubelet
// restarts the container. SPDK being down never makes the agent not live:
// restarting the agent does not bring SPDK back, and the agent must stay up
// to report it.
//
// Ready means the agent can answer its clients correctly: SPDK answers, the
// lvol graph is synced, complete and fresh, the disk identities are loaded,
// and the cluster disk registry is valid. An unready agent stays running and
// keeps retrying; clients (and the DaemonSet's rollout) wait for it.
//
// The agent supplies these checks:
//
//	livez:  follow-loop          (the heartbeat of the loop that follows SPDK)
//	readyz: spdk, graph, disks   (disks only when it manages disks or reads
//	                              a registry; it covers the registry too)
//
// # Probing
//
// [Probe] is the client side, used by "spdk-agent probe", which kubelet runs
// as an exec probe: exit status 0 for 200, 1 otherwise.
//
// # Metrics
//
// Every metric the agent exports, as returned by [MetricNames]:
//
//	name                                             type       labels
//	spdk_agent_build_info                            gauge      version, goversion, revision
//	spdk_agent_spdk_up                               gauge
//	spdk_agent_spdk_info                             gauge      version
//	spdk_agent_spdk_rpc_duration_seconds             histogram  method
//	spdk_agent_spdk_rpc_errors_total                 counter    method, kind
//	spdk_agent_spdk_reconnects_total                 counter
//	spdk_agent_notifications_processed_total         counter
//	spdk_agent_graph_syncs_total                     counter    mode (full, incremental)
//	spdk_agent_graph_generation                      gauge
//	spdk_agent_graph_complete                        gauge
//	spdk_agent_graph_age_seconds                     gauge
//	spdk_agent_guard_decisions_total                 counter    method, decision, rule
//	spdk_agent_cleanup_steps_total                   counter    result (deleted, refused, skipped)
//	spdk_agent_audit_records_total                   counter
//	spdk_agent_lvstore_size_bytes                    gauge      lvstore, lvstore_uuid
//	spdk_agent_lvstore_free_bytes                    gauge      lvstore, lvstore_uuid
//	spdk_agent_lvstore_provisioned_bytes             gauge      lvstore, lvstore_uuid
//	spdk_agent_lvstore_cluster_size_bytes            gauge      lvstore, lvstore_uuid
//	spdk_agent_lvstore_lvols                         gauge      lvstore, lvstore_uuid, kind
//	spdk_agent_lvstore_max_chain_depth               gauge      lvstore, lvstore_uuid
//	spdk_agent_lvstore_orphan_lvols                  gauge      lvstore, lvstore_uuid
//	spdk_agent_lvstore_protected_lvols               gauge      lvstore, lvstore_uuid
//	spdk_agent_lvol_allocated_bytes                  gauge      lvstore, lvol, lvol_uuid (per-lvol only)
//	spdk_agent_bdev_io_bytes_total                   counter    bdev, op (read, write, unmap)
//	spdk_agent_bdev_io_operations_total              counter    bdev, op
//	spdk_agent_bdev_io_time_seconds_total            counter    bdev, op
//	spdk_agent_disk_identities                       gauge      state
//	spdk_agent_disk_uuid_prefix_collisions           gauge
//	spdk_agent_disk_uuid_regenerations_total         counter
//	spdk_agent_disk_registry_updates_rejected_total  counter
//	spdk_agent_disk_registry_info                    gauge      source (kube, file; only with a registry)
//	spdk_agent_disk_registry_synced                  gauge      (only with a registry)
//	spdk_agent_disk_registry_disks                   gauge      (only with a registry)
//
// The state metrics are built at scrape time from [StateSource.NodeState]
// as constant metrics, so an lvstore, lvol or bdev that is gone has no
// series. The lvol kinds are plain, snapshot, clone, esnap_clone and
// degraded; spdk_agent_lvol_allocated_bytes is exported only with
// [CollectorOptions].PerLvol (the agent's --per-lvol-metrics), since it adds
// one series per lvol. The bdev_io counters are those of the bdevs in
// [NodeState].IOStat: the agent puts lvols there only with
// --per-lvol-metrics too, so that by default no series grows with the lvols
// (an lvol's I/O shows on the bdevs beneath it).
//
// # Use
//
//	reg := prometheus.NewRegistry()
//	m := health.NewMetrics(reg, health.BuildInfo{Version: version, GoVersion: runtime.Version()})
//	_ = health.RegisterCollectors(reg, graphSource, health.CollectorOptions{})
//	refresh := health.NewHeartbeat(time.Minute)
//	srv := health.NewServer(health.Options{
//		Livez:    []health.Check{refresh.Check("refresh-loop")},
//		Readyz:   []health.Check{{Name: "spdk", Run: pingSPDK}},
//		Gatherer: reg,
//	})
//	go srv.ListenAndServe(ctx, "/run/spdk-agent/health.sock", 0o660)
//	m.ObserveRPC("bdev_get_bdevs", time.Since(start), "")
package health
