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
	NumaID                    *int               `json:"numa_id,omitempty"`
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
	Nowait            bool   `json:"nowait"`
}

type splitJSON struct {
	BaseBdev     string `json:"base_bdev"`
	OffsetBlocks uint64 `json:"offset_blocks"`
}

type passthruJSON struct {
	Name         string `json:"name"`
	BaseBdevName string `json:"base_bdev_name"`
}

type driverSpecificJSON struct {
	Lvol     *spdkrpc.LvolDriverInfo `json:"lvol,omitempty"`
	Aio      *aioInfo                `json:"aio,omitempty"`
	Raid     *raidJSON               `json:"raid,omitempty"`
	Split    *splitJSON              `json:"split,omitempty"`
	Passthru *passthruJSON           `json:"passthru,omitempty"`
}

var (
	mallocIO = ioTypes{Read: true, Write: true, Unmap: true, Flush: true, Reset: true,
		WriteZeroes: true, ZCopy: true, Compare: true, Abort: true, Copy: true}
	aioIO       = ioTypes{Read: true, Write: true, Flush: true, Reset: true, WriteZeroes: true}
	raidIO      = ioTypes{Read: true, Write: true, Unmap: true, Flush: true, Reset: true, WriteZeroes: true}
	lvolIO      = ioTypes{Read: true, Write: true, Unmap: true, Reset: true, WriteZeroes: true, SeekHole: true, SeekData: true}
	snapshotIO  = ioTypes{Read: true, Reset: true, SeekHole: true, SeekData: true}
	lvolDomains = []memoryDomain{{"DMA"}, {"ACCEL"}}
)

// numaOf is the NUMA node SPDK reports for b: malloc and lvol bdevs say
// -1, aio and raid bdevs nothing, split and passthru bdevs their base's.
func numaOf(b *bdev) *int {
	switch b.kind {
	case kindMalloc:
		n := -1
		return &n
	case kindSplit, kindPassthru:
		return numaOf(b.base)
	case kindLvol:
		return numaOf(b.lvol.lvs.base)
	}
	return nil
}

// domainsOf is the memory domains b offers to what stands on it: a malloc
// bdev's DMA and ACCEL pair (which its own listing leaves out), a
// passthru's base's, a raid's bases' one after the other, an lvol its
// lvstore base's and then its external snapshot's.
func domainsOf(b *bdev) []memoryDomain {
	var out []memoryDomain
	switch b.kind {
	case kindMalloc:
		out = append(out, lvolDomains...)
	case kindPassthru:
		out = domainsOf(b.base)
	case kindRaid:
		for _, x := range b.raid.bases {
			if x != nil {
				out = append(out, domainsOf(x)...)
			}
		}
	case kindLvol:
		out = domainsOf(b.lvol.lvs.base)
		if e := b.lvol.esnapBdev; e != nil {
			out = append(out, domainsOf(e)...)
		}
	}
	return out
}

// ioTypesOf is what bdev_get_bdevs reports b supports: SPDK asks each
// bdev once, when it registers, and keeps the answer. So an lvol made
// read-only later still reports writes, while a split part registered
// over it afterwards (which asks its base's driver directly) does not.
func ioTypesOf(b *bdev) ioTypes {
	if b.io != nil {
		return *b.io
	}
	return liveIOTypes(b)
}

// liveIOTypes is what b's driver answers now.
func liveIOTypes(b *bdev) ioTypes {
	switch b.kind {
	case kindMalloc:
		return mallocIO
	case kindAio:
		return aioIO
	case kindSplit:
		return liveIOTypes(b.base)
	case kindPassthru:
		return ioTypesOf(b.base)
	case kindRaid:
		t := raidIO
		for _, x := range b.raid.bases {
			if x != nil {
				bt := ioTypesOf(x)
				t.Unmap = t.Unmap && bt.Unmap
				t.Flush = t.Flush && bt.Flush
				// write_zeroes is not the raid's own: the bdev layer
				// lists it as emulated by writes, which a raid always takes.
			}
		}
		return t
	}
	if b.lvol.readOnly {
		return snapshotIO
	}
	return lvolIO
}

// listedDomains is what bdev_get_bdevs shows as b's memory domains: a
// malloc, aio or split bdev shows none (though a malloc bdev offers its
// pair to an lvol or raid above it), a passthru what its base shows.
func listedDomains(b *bdev) []memoryDomain {
	switch b.kind {
	case kindMalloc, kindAio, kindSplit:
		return nil
	case kindPassthru:
		return listedDomains(b.base)
	}
	return domainsOf(b)
}

// bdevJSON renders b; claims comes from claimsLocked.
func bdevJSONOf(b *bdev, claims map[*bdev]string) bdevJSON {
	j := bdevJSON{
		Name: b.name, Aliases: b.aliases(), BlockSize: b.blockSize, NumBlocks: b.numBlocks,
		UUID: b.uuid, NumaID: numaOf(b), ClaimType: claims[b], SupportedIOTypes: ioTypesOf(b),
	}
	j.Claimed = j.ClaimType != ""
	switch b.kind {
	case kindMalloc:
		j.ProductName = "Malloc disk"
	case kindAio:
		j.ProductName = "AIO disk"
		j.DriverSpecific.Aio = &aioInfo{Filename: b.filename, BlockSizeOverride: true}
	case kindSplit:
		j.ProductName = "Split Disk"
		j.DriverSpecific.Split = &splitJSON{BaseBdev: b.base.name, OffsetBlocks: b.offset}
	case kindPassthru:
		j.ProductName = "passthru"
		j.DriverSpecific.Passthru = &passthruJSON{Name: b.name, BaseBdevName: b.base.name}
		j.MemoryDomains = listedDomains(b.base)
	case kindRaid:
		j.ProductName, j.MemoryDomains = "Raid Volume", domainsOf(b)
		j.DriverSpecific.Raid = b.raidJSON()
	case kindLvol:
		l := b.lvol
		j.ProductName, j.MemoryDomains = "Logical Volume", domainsOf(b)
		j.DriverSpecific.Lvol = l.driverInfo()
	}
	return j
}
