package spdkrpc

// Wire shapes of SPDK's answers, field for field as recorded from spdk_tgt
// v26.05 (see the transcripts). Fields SPDK omits in some answers are
// pointers or carry omitempty so that "absent" stays distinguishable where it
// matters (base_snapshot, clones, external_snapshot_name).

// Lvstore is one element of bdev_lvol_get_lvstores.
type Lvstore struct {
	UUID              LvstoreUUID `json:"uuid"`
	Name              LvstoreName `json:"name"`
	BaseBdev          BdevName    `json:"base_bdev"`
	TotalDataClusters uint64      `json:"total_data_clusters"`
	FreeClusters      uint64      `json:"free_clusters"`
	BlockSize         uint64      `json:"block_size"`
	ClusterSize       uint64      `json:"cluster_size"`
	MaxGrowableSize   uint64      `json:"max_growable_size"`
}

// LvstoreRef is the "lvs" member of a bdev_lvol_get_lvols element.
type LvstoreRef struct {
	Name LvstoreName `json:"name"`
	UUID LvstoreUUID `json:"uuid"`
}

// Lvol is one element of bdev_lvol_get_lvols. It lists degraded lvols too but
// carries neither size nor parent/child links: those are in bdev_get_bdevs.
type Lvol struct {
	Alias                LvolAlias  `json:"alias"`
	UUID                 LvolUUID   `json:"uuid"`
	Name                 LvolName   `json:"name"`
	IsThinProvisioned    bool       `json:"is_thin_provisioned"`
	IsSnapshot           bool       `json:"is_snapshot"`
	IsClone              bool       `json:"is_clone"`
	IsEsnapClone         bool       `json:"is_esnap_clone"`
	IsDegraded           bool       `json:"is_degraded"`
	NumAllocatedClusters uint64     `json:"num_allocated_clusters"`
	Lvs                  LvstoreRef `json:"lvs"`
}

// Bdev is one element of bdev_get_bdevs. Only the members the agent uses are
// typed; the rest of SPDK's answer is ignored when decoding.
type Bdev struct {
	Name           BdevName            `json:"name"`
	Aliases        []string            `json:"aliases"`
	ProductName    string              `json:"product_name"`
	BlockSize      uint64              `json:"block_size"`
	NumBlocks      uint64              `json:"num_blocks"`
	UUID           BdevUUID            `json:"uuid"`
	Claimed        bool                `json:"claimed"`
	DriverSpecific *BdevDriverSpecific `json:"driver_specific,omitempty"`
}

// BdevDriverSpecific holds the driver_specific member of a bdev; only the
// lvol driver's part is typed.
type BdevDriverSpecific struct {
	Lvol *LvolDriverInfo `json:"lvol,omitempty"`
}

// LvolDriverInfo is driver_specific.lvol of an lvol bdev: the only place SPDK
// reports an lvol's parent and children.
type LvolDriverInfo struct {
	LvolStoreUUID        LvstoreUUID `json:"lvol_store_uuid"`
	BaseBdev             BdevName    `json:"base_bdev"`
	ThinProvision        bool        `json:"thin_provision"`
	NumAllocatedClusters uint64      `json:"num_allocated_clusters"`
	Snapshot             bool        `json:"snapshot"`
	Clone                bool        `json:"clone"`
	// BaseSnapshot is the parent snapshot's lvol NAME (no "lvs/" prefix);
	// present only when Clone is true.
	BaseSnapshot LvolName `json:"base_snapshot,omitempty"`
	// Clones lists the lvol names of a snapshot's clones; present only when
	// there is at least one.
	Clones     []LvolName `json:"clones,omitempty"`
	EsnapClone bool       `json:"esnap_clone"`
	// ExternalSnapshotName is, despite its name, the UUID of the external
	// bdev an esnap clone reads from.
	ExternalSnapshotName BdevUUID `json:"external_snapshot_name,omitempty"`
}

// Size returns the bdev's size in bytes.
func (b *Bdev) Size() uint64 { return b.BlockSize * b.NumBlocks }

// LvolInfo returns driver_specific.lvol, and whether the bdev is an lvol.
func (b *Bdev) LvolInfo() (*LvolDriverInfo, bool) {
	if b.DriverSpecific == nil || b.DriverSpecific.Lvol == nil {
		return nil, false
	}
	return b.DriverSpecific.Lvol, true
}

// VersionInfo is the result of spdk_get_version.
type VersionInfo struct {
	// Version is the full version string, "SPDK v26.05 git sha1 d519b163cb".
	Version string        `json:"version"`
	Fields  VersionFields `json:"fields"`
}

// VersionFields are the parts of SPDK's version.
type VersionFields struct {
	Major  int    `json:"major"`
	Minor  int    `json:"minor"`
	Patch  int    `json:"patch"`
	Suffix string `json:"suffix"`
	Commit string `json:"commit,omitempty"`
}

// ShallowCopyStatus is the result of bdev_lvol_check_shallow_copy.
type ShallowCopyStatus struct {
	CopiedClusters uint64 `json:"copied_clusters"`
	TotalClusters  uint64 `json:"total_clusters"`
	// State is "in progress", "complete" or "error".
	State string `json:"state"`
	// Error explains State "error".
	Error string `json:"error,omitempty"`
}

// Iostat is the result of bdev_get_iostat. Latencies are in ticks of
// TickRate per second; Ticks is the tick counter when SPDK answered.
type Iostat struct {
	TickRate uint64       `json:"tick_rate"`
	Ticks    uint64       `json:"ticks"`
	Bdevs    []BdevIostat `json:"bdevs"`
}

// BdevIostat holds one bdev's cumulative I/O counters.
type BdevIostat struct {
	Name              BdevName `json:"name"`
	BytesRead         uint64   `json:"bytes_read"`
	NumReadOps        uint64   `json:"num_read_ops"`
	BytesWritten      uint64   `json:"bytes_written"`
	NumWriteOps       uint64   `json:"num_write_ops"`
	BytesUnmapped     uint64   `json:"bytes_unmapped"`
	NumUnmapOps       uint64   `json:"num_unmap_ops"`
	ReadLatencyTicks  uint64   `json:"read_latency_ticks"`
	WriteLatencyTicks uint64   `json:"write_latency_ticks"`
	UnmapLatencyTicks uint64   `json:"unmap_latency_ticks"`
	QueueDepth        uint64   `json:"queue_depth,omitempty"`
	IOTime            uint64   `json:"io_time,omitempty"`
	WeightedIOTime    uint64   `json:"weighted_io_time,omitempty"`
}

// Notification is one element of notify_get_notifications.
type Notification struct {
	// Type is the event, e.g. "bdev_register" or "bdev_unregister".
	Type string `json:"type"`
	// Ctx is the event's subject, e.g. the bdev name.
	Ctx string `json:"ctx"`
	// ID increases by one per event; pass the last seen to get the next.
	ID uint64 `json:"id"`
}
