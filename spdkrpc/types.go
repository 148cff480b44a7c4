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
