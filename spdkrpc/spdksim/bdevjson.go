package spdksim

import "github.com/spdk-agent/spdk-agent/spdkrpc"

// bdevJSON is one element of bdev_get_bdevs, member for member in SPDK's
// order (transcript 021), so that a marshalled reply matches the recording.
type bdevJSON struct {
	Name                      string             `json:"name"`
	Aliases                   []string           `json:"aliases"`
	ProductName               string             `json:"product_name"`
	BlockSize                 uint64             `json:"block_size"`
	NumBlocks                 uint64             `json:"num_blocks"`
	PreferredWriteAlignment   uint64             `json:"preferred_write_alignment"`
	PreferredWriteGranularity uint64             `json:"preferred_write_granularity"`
	OptimalWriteSize          uint64             `json:"optimal_write_size"`
	PreferredUnmapAlignment   uint64             `json:"preferred_unmap_alignment"`
	PreferredUnmapGranularity uint64             `json:"preferred_unmap_granularity"`
	UUID                      string             `json:"uuid"`
	NumaID                    int                `json:"numa_id"`
	AssignedRateLimits        rateLimits         `json:"assigned_rate_limits"`
	Claimed                   bool               `json:"claimed"`
	ClaimType                 string             `json:"claim_type,omitempty"`
	Zoned                     bool               `json:"zoned"`
	SupportedIOTypes          ioTypes            `json:"supported_io_types"`
	MemoryDomains             []memoryDomain     `json:"memory_domains,omitempty"`
	DriverSpecific            driverSpecificJSON `json:"driver_specific"`
}

type rateLimits struct {
	RWIOsPerSec    uint64 `json:"rw_ios_per_sec"`
	RWMBytesPerSec uint64 `json:"rw_mbytes_per_sec"`
	RMBytesPerSec  uint64 `json:"r_mbytes_per_sec"`
	WMBytesPerSec  uint64 `json:"w_mbytes_per_sec"`
}

type ioTypes struct {
	Read               bool `json:"read"`
	Write              bool `json:"write"`
	Unmap              bool `json:"unmap"`
	Flush              bool `json:"flush"`
	Reset              bool `json:"reset"`
	NVMeAdmin          bool `json:"nvme_admin"`
	NVMeIO             bool `json:"nvme_io"`
	NVMeIOMD           bool `json:"nvme_io_md"`
	WriteZeroes        bool `json:"write_zeroes"`
	ZCopy              bool `json:"zcopy"`
	GetZoneInfo        bool `json:"get_zone_info"`
	ZoneManagement     bool `json:"zone_management"`
	ZoneAppend         bool `json:"zone_append"`
	Compare            bool `json:"compare"`
	CompareAndWrite    bool `json:"compare_and_write"`
	Abort              bool `json:"abort"`
	SeekHole           bool `json:"seek_hole"`
	SeekData           bool `json:"seek_data"`
	Copy               bool `json:"copy"`
	NVMeIOVMD          bool `json:"nvme_iov_md"`
	NVMeNSSR           bool `json:"nvme_nssr"`
	WriteUncorrectable bool `json:"write_uncorrectable"`
}

type memoryDomain struct {
	DMADeviceType string `json:"dma_device_type"`
}

type aioInfo struct {
	Filename          string `json:"filename"`
	BlockSizeOverride bool   `json:"block_size_override"`
	Readonly          bool   `json:"readonly"`
	Fallocate         bool   `json:"fallocate"`
}

type driverSpecificJSON struct {
	Lvol *spdkrpc.LvolDriverInfo `json:"lvol,omitempty"`
	Aio  *aioInfo                `json:"aio,omitempty"`
}

var (
	mallocIO = ioTypes{Read: true, Write: true, Unmap: true, Flush: true, Reset: true,
		WriteZeroes: true, ZCopy: true, Compare: true, Abort: true, Copy: true}
	aioIO       = ioTypes{Read: true, Write: true, Flush: true, Reset: true}
	lvolIO      = ioTypes{Read: true, Write: true, Unmap: true, Reset: true, WriteZeroes: true, SeekHole: true, SeekData: true}
	snapshotIO  = ioTypes{Read: true, Reset: true, SeekHole: true, SeekData: true}
	lvolDomains = []memoryDomain{{"DMA"}, {"ACCEL"}}
	// An esnap clone reports its lvstore's domains and its external
	// snapshot's, hence the pair twice.
	esnapDomains = []memoryDomain{{"DMA"}, {"ACCEL"}, {"DMA"}, {"ACCEL"}}
)

// bdevJSON renders b; claims comes from claimsLocked.
func bdevJSONOf(b *bdev, claims map[*bdev]string) bdevJSON {
	j := bdevJSON{
		Name: b.name, Aliases: b.aliases(), BlockSize: b.blockSize, NumBlocks: b.numBlocks,
		UUID: b.uuid, NumaID: -1, ClaimType: claims[b],
	}
	j.Claimed = j.ClaimType != ""
	switch b.kind {
	case kindMalloc:
		j.ProductName, j.SupportedIOTypes = "Malloc disk", mallocIO
	case kindAio:
		j.ProductName, j.SupportedIOTypes = "AIO disk", aioIO
		j.DriverSpecific.Aio = &aioInfo{Filename: b.filename}
	case kindLvol:
		l := b.lvol
		j.ProductName, j.SupportedIOTypes, j.MemoryDomains = "Logical Volume", lvolIO, lvolDomains
		if l.snapshot {
			j.SupportedIOTypes = snapshotIO
		}
		if l.esnap != "" {
			j.MemoryDomains = esnapDomains
		}
		j.DriverSpecific.Lvol = l.driverInfo()
	}
	return j
}
