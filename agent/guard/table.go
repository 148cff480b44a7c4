package guard

import "strings"

// Class says how the agent treats a method.
type Class uint8

const (
	// ReadOnly methods change nothing in SPDK: forwarded to anyone.
	ReadOnly Class = iota + 1
	// Mutating methods change SPDK outside the volume graph (exports,
	// options, logs, ...): forwarded for callers on the allow list, audited.
	Mutating
	// Graph methods create, remove or rewrite what the dependency graph
	// holds: serialized with each other, decided by their check (on a
	// fresh read when Fresh), audited.
	Graph
	// Refused methods are never forwarded, unless an operator allows them.
	Refused
)

func (c Class) String() string {
	switch c {
	case ReadOnly:
		return "read-only"
	case Mutating:
		return "mutating"
	case Graph:
		return "graph"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// Entry is how one method is treated.
type Entry struct {
	Class Class
	// Fresh: the check needs a fresh read of SPDK.
	Fresh bool
	// Removal: the call only removes what it names. Removals allowed on
	// one read are independent of each other (nothing stands on any of
	// them), so the agent may decide several on one read and send them
	// together.
	Removal bool
	check   func(*call) Decision
	// Why a Refused method is refused.
	Why string
}

// Lookup returns the entry of method; ok is false for a method the table
// does not know (a newer SPDK's), which the agent refuses unless allowed.
func Lookup(method string) (Entry, bool) {
	e, ok := table[method]
	return e, ok
}

// Methods returns every method the table knows.
func Methods() map[string]Class {
	out := make(map[string]Class, len(table))
	for m, e := range table {
		out[m] = e.Class
	}
	return out
}

var table = map[string]Entry{}

func add(c Class, methods string) {
	for _, m := range strings.Fields(methods) {
		table[m] = Entry{Class: c}
	}
}

func check(method string, fresh bool, f func(*call) Decision) {
	table[method] = Entry{Class: Graph, Fresh: fresh, check: f}
}

func removal(method string, f func(*call) Decision) {
	table[method] = Entry{Class: Graph, Fresh: true, Removal: true, check: f}
}

func refuse(why, methods string) {
	for _, m := range strings.Fields(methods) {
		table[m] = Entry{Class: Refused, Why: why}
	}
}

func init() {
	add(ReadOnly, `
		rpc_get_methods spdk_get_version notify_get_types notify_get_notifications
		bdev_get_bdevs bdev_get_iostat bdev_get_histogram bdev_get_histogram_borders bdev_wait_for_examine
		bdev_lvol_get_lvstores bdev_lvol_get_lvols bdev_lvol_check_shallow_copy
		bdev_raid_get_bdevs bdev_ftl_get_properties bdev_ftl_get_stats bdev_opal_get_info
		bdev_nvme_get_controllers bdev_nvme_get_controller_health_info bdev_nvme_get_discovery_info
		bdev_nvme_get_io_paths bdev_nvme_get_mdns_discovery_info bdev_nvme_get_path_iostat
		bdev_nvme_get_transport_statistics
		accel_crypto_keys_get accel_get_module_info accel_get_opc_assignments accel_get_stats
		env_dpdk_get_mem_stats iobuf_get_stats keyring_get_keys nbd_get_disks scsi_get_devices
		framework_get_config framework_get_governor framework_get_pci_devices framework_get_reactors
		framework_get_scheduler framework_get_subsystems framework_wait_init
		iscsi_get_auth_groups iscsi_get_connections iscsi_get_histogram iscsi_get_initiator_groups
		iscsi_get_options iscsi_get_portal_groups iscsi_get_stats iscsi_get_target_nodes
		log_get_flags log_get_level log_get_print_level
		nvmf_discovery_get_referrals nvmf_get_stats nvmf_get_subsystems nvmf_get_targets nvmf_get_transports
		nvmf_subsystem_get_controllers nvmf_subsystem_get_listeners nvmf_subsystem_get_qpairs
		sock_get_default_impl sock_impl_get_options
		thread_get_io_channels thread_get_pollers thread_get_stats
		trace_get_info trace_get_tpoint_group_mask`)

	// Changes outside the graph: options, exports, keys, logs, threads.
	// Exports open bdevs but cannot remove or rewrite one, and SPDK's
	// claims keep them off what an lvstore or raid holds for writing.
	add(Mutating, `
		accel_assign_opc accel_crypto_key_create accel_crypto_key_destroy accel_error_inject_error
		accel_set_driver accel_set_options ae4dma_scan_accel_module ioat_scan_accel_module
		bdev_enable_histogram bdev_reset_iostat bdev_set_options bdev_set_qd_sampling_period bdev_set_qos_limit
		bdev_delay_update_latency bdev_error_inject_error bdev_error_resume_pending
		bdev_ftl_set_property bdev_raid_set_options
		bdev_nvme_add_error_injection bdev_nvme_remove_error_injection bdev_nvme_enable_controller
		bdev_nvme_reset_controller bdev_nvme_set_hotplug bdev_nvme_set_keys bdev_nvme_set_multipath_policy
		bdev_nvme_set_options bdev_nvme_set_preferred_path bdev_nvme_start_discovery bdev_nvme_start_mdns_discovery
		bdev_nvme_opal_init bdev_opal_new_user
		framework_disable_cpumask_locks framework_enable_cpumask_locks framework_monitor_context_switch
		framework_set_scheduler framework_start_init scheduler_set_options thread_set_cpumask
		iobuf_set_options keyring_file_add_key keyring_file_remove_key keyring_linux_set_options
		iscsi_auth_group_add_secret iscsi_auth_group_remove_secret iscsi_create_auth_group
		iscsi_create_initiator_group iscsi_create_portal_group iscsi_create_target_node
		iscsi_delete_auth_group iscsi_delete_initiator_group iscsi_delete_portal_group iscsi_delete_target_node
		iscsi_enable_histogram iscsi_initiator_group_add_initiators iscsi_initiator_group_remove_initiators
		iscsi_portal_group_set_auth iscsi_set_discovery_auth iscsi_set_options iscsi_start_portal_group
		iscsi_target_node_add_lun iscsi_target_node_add_pg_ig_maps iscsi_target_node_remove_pg_ig_maps
		iscsi_target_node_request_logout iscsi_target_node_set_auth iscsi_target_node_set_redirect
		log_clear_flag log_enable_timestamps log_set_flag log_set_level log_set_print_level
		nbd_start_disk nbd_stop_disk
		nvmf_create_subsystem nvmf_create_target nvmf_create_transport nvmf_delete_subsystem nvmf_delete_target
		nvmf_discovery_add_referral nvmf_discovery_remove_referral nvmf_ns_add_host nvmf_ns_remove_host
		nvmf_publish_mdns_prr nvmf_set_config nvmf_set_crdt nvmf_set_max_subsystems nvmf_stop_mdns_prr
		nvmf_subsystem_add_host nvmf_subsystem_add_listener nvmf_subsystem_add_ns nvmf_subsystem_allow_any_host
		nvmf_subsystem_listener_set_ana_state nvmf_subsystem_remove_host nvmf_subsystem_remove_listener
		nvmf_subsystem_remove_ns nvmf_subsystem_set_keys nvmf_subsystem_set_ns_ana_group
		sock_impl_set_options sock_set_default_impl
		trace_clear trace_clear_tpoint_mask trace_disable_tpoint_group trace_enable_tpoint_group trace_set_tpoint_mask
		vmd_enable vmd_rescan`)

	refuse("it stops spdk_tgt and every volume on the node", "spdk_kill_instance")
	refuse("it removes PCI devices the agent cannot map to bdevs", "vmd_remove_device")

	// Removals.
	removal("bdev_lvol_delete", checkDeleteLvol)
	removal("bdev_lvol_delete_lvstore", checkDeleteLvstore)
	for _, m := range strings.Fields(`bdev_aio_delete bdev_malloc_delete bdev_null_delete bdev_delay_delete
		bdev_error_delete bdev_passthru_delete bdev_raid_delete bdev_zone_block_delete bdev_ftl_delete
		bdev_uring_delete bdev_iscsi_delete bdev_rbd_delete bdev_crypto_delete bdev_ocf_delete
		bdev_compress_delete bdev_xnvme_delete bdev_daos_delete bdev_virtio_detach_controller`) {
		removal(m, checkDeleteBdev("name"))
	}
	removal("bdev_opal_delete", checkDeleteBdev("bdev_name"))
	// Calls that destroy a bdev's data or stop its I/O count as removals.
	check("bdev_ftl_unmap", true, checkDeleteBdev("name"))
	check("bdev_opal_set_lock_state", true, checkDeleteBdev("bdev_name"))
	check("bdev_nvme_apply_firmware", true, checkDeleteBdev("bdev_name"))
	check("bdev_split_delete", true, checkSplitDelete)
	check("bdev_raid_remove_base_bdev", true, checkRaidRemoveBase)
	check("bdev_nvme_detach_controller", true, checkControllerBdevs("name", "detaching"))
	check("bdev_nvme_disable_controller", true, checkControllerBdevs("name", "disabling"))
	check("bdev_nvme_send_cmd", true, checkControllerBdevs("name", "sending a raw command to"))
	check("bdev_nvme_opal_revert", true, checkControllerBdevs("nvme_ctrlr_name", "erasing"))
	check("bdev_nvme_stop_discovery", true, checkAllNVMe)
	check("bdev_nvme_stop_mdns_discovery", true, checkAllNVMe)

	// Chain rewrites, resizes, copies, renames.
	check("bdev_lvol_set_parent", true, checkRewrite("lvol_name", "parent_name", false))
	check("bdev_lvol_set_parent_bdev", true, checkRewrite("lvol_name", "parent_name", true))
	check("bdev_lvol_decouple_parent", true, checkRewrite("name", "", false))
	check("bdev_lvol_inflate", true, checkRewrite("name", "", false))
	check("bdev_lvol_resize", true, checkShrink("name", "size_in_mib", true))
	check("bdev_null_resize", true, checkShrink("name", "new_size", false))
	check("bdev_lvol_start_shallow_copy", true, checkShallowCopy)
	check("bdev_lvol_clone_bdev", true, checkCloneBdev)
	check("bdev_lvol_rename", true, checkRenameLvol)
	check("bdev_lvol_rename_lvstore", false, checkRenameLvstore)
	check("bdev_lvol_set_read_only", true, checkSetReadOnly)

	// Creations: serialized with the rest, no read needed.
	b := func(k string) touchKey { return touchKey{k, touchBdev} }
	check("bdev_lvol_create_lvstore", true, checkCreateLvstore)
	check("bdev_lvol_create", false, checkCreate(touchKey{"lvs_name", touchStoreName}, touchKey{"uuid", touchStoreUUID}))
	lv := func(k string) touchKey { return touchKey{k, touchLvol} }
	check("bdev_lvol_snapshot", false, checkCreate(lv("lvol_name")))
	check("bdev_lvol_clone", true, checkCreate(lv("snapshot_name")))
	check("bdev_lvol_grow_lvstore", false, checkCreate(touchKey{"lvs_name", touchStoreName}, touchKey{"uuid", touchStoreUUID}))
	check("bdev_split_create", true, checkSplitCreate)
	check("bdev_passthru_create", false, checkCreate(b("base_bdev_name")))
	check("bdev_delay_create", false, checkCreate(b("base_bdev_name")))
	check("bdev_error_create", false, checkCreate(b("base_name")))
	check("bdev_zone_block_create", false, checkCreate(b("base_bdev")))
	check("bdev_ftl_create", false, checkCreate(b("base_bdev")))
	check("bdev_raid_create", false, checkCreate())
	check("bdev_raid_add_base_bdev", false, checkCreate(b("base_bdev"), b("raid_bdev")))
	for _, m := range strings.Fields(`bdev_malloc_create bdev_aio_create bdev_aio_rescan bdev_null_create
		bdev_nvme_attach_controller bdev_opal_create bdev_examine`) {
		check(m, false, checkCreate())
	}
}
