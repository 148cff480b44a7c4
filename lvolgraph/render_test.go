package lvolgraph

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

var testTime = time.Unix(1700000000, 0)

var update = flag.Bool("update", false, "rewrite the fixtures in testdata/ from the test scenes")

// wireBdev is a bdev_get_bdevs element with every member SPDK v26.05 sends
// (see the recordings), so that generated listings have the real size and
// the decoder skips what it does not type.
type wireBdev struct {
	Name                      spdkrpc.BdevName    `json:"name"`
	Aliases                   []string            `json:"aliases"`
	ProductName               string              `json:"product_name"`
	BlockSize                 uint64              `json:"block_size"`
	NumBlocks                 uint64              `json:"num_blocks"`
	PreferredWriteAlignment   int                 `json:"preferred_write_alignment"`
	PreferredWriteGranularity int                 `json:"preferred_write_granularity"`
	OptimalWriteSize          int                 `json:"optimal_write_size"`
	PreferredUnmapAlignment   int                 `json:"preferred_unmap_alignment"`
	PreferredUnmapGranularity int                 `json:"preferred_unmap_granularity"`
	UUID                      spdkrpc.BdevUUID    `json:"uuid"`
	NumaID                    int                 `json:"numa_id"`
	AssignedRateLimits        map[string]int      `json:"assigned_rate_limits"`
	Claimed                   bool                `json:"claimed"`
	ClaimType                 string              `json:"claim_type,omitempty"`
	Zoned                     bool                `json:"zoned"`
	SupportedIOTypes          map[string]bool     `json:"supported_io_types"`
	MemoryDomains             []map[string]string `json:"memory_domains,omitempty"`
	DriverSpecific            json.RawMessage     `json:"driver_specific"`
}

var ioTypes = []string{"read", "write", "unmap", "flush", "reset", "nvme_admin", "nvme_io", "nvme_io_md",
	"write_zeroes", "zcopy", "get_zone_info", "zone_management", "zone_append", "compare", "compare_and_write",
	"abort", "seek_hole", "seek_data", "copy", "nvme_iov_md", "nvme_nssr", "write_uncorrectable"}

func toWire(b spdkrpc.Bdev) wireBdev {
	w := wireBdev{Name: b.Name, Aliases: b.Aliases, ProductName: b.ProductName, BlockSize: b.BlockSize, NumBlocks: b.NumBlocks,
		UUID: b.UUID, NumaID: -1, Claimed: b.Claimed,
		AssignedRateLimits: map[string]int{"rw_ios_per_sec": 0, "rw_mbytes_per_sec": 0, "r_mbytes_per_sec": 0, "w_mbytes_per_sec": 0},
		SupportedIOTypes:   map[string]bool{}}
	for i, t := range ioTypes {
		w.SupportedIOTypes[t] = i < 5 || t == "seek_hole" || t == "seek_data"
	}
	if b.Claimed {
		w.ClaimType = "read_many_write_one"
	}
	ds := b.DriverSpecific
	if ds == nil {
		ds = &spdkrpc.BdevDriverSpecific{}
	}
	if ds.Lvol != nil {
		w.MemoryDomains = []map[string]string{{"dma_device_type": "DMA"}, {"dma_device_type": "ACCEL"}}
	}
	w.DriverSpecific, _ = json.Marshal(ds)
	return w
}

// render writes listings in the fixture format, bdevs in SPDK's full shape.
func render(in Inputs) []byte {
	wire := make([]wireBdev, len(in.Bdevs))
	for i, b := range in.Bdevs {
		wire[i] = toWire(b)
	}
	var buf bytes.Buffer
	buf.WriteString("{\"bdev_lvol_get_lvstores\":")
	mustEncode(&buf, in.Lvstores)
	buf.WriteString(",\n\"bdev_lvol_get_lvols\":")
	mustEncode(&buf, in.Lvols)
	buf.WriteString(",\n\"bdev_get_bdevs\":")
	mustEncode(&buf, wire)
	buf.WriteString("}\n")
	return buf.Bytes()
}

func mustEncode(buf *bytes.Buffer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	buf.Write(b)
}

// loadFixture returns the listings of testdata/name. With -update and a
// scene, it first writes the scene's listings there.
func loadFixture(t testing.TB, name string, s *scene) Inputs {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update && s != nil {
		if err := os.WriteFile(path, render(s.inputs()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	in, err := decodeFixture(data)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return in
}
