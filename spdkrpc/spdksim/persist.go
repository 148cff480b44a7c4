package spdksim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
)

// An aio bdev's file is its disk: the lvstore on it is written at the
// start of the file after every change, and read back when a new process
// creates an aio bdev on the same file (SPDK's examine). Malloc-backed
// lvstores have no such place and die with the process.
//
// Layout: the magic, a big-endian uint64 length, then the JSON of diskStore.
var metaMagic = []byte("SPDKSIM-LVS1\n")

type diskStore struct {
	// DevBytes is the size of the device the store was made on; a
	// smaller device does not load it.
	DevBytes    uint64 `json:"dev_bytes,omitempty"`
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	ClusterSize uint64 `json:"cluster_size"`
	// IOUnit is the block size of the device the store was made on;
	// SPDK keeps it in the super block and uses it after every load,
	// whatever the block size of the device it is loaded from.
	IOUnit       uint64     `json:"io_unit,omitempty"`
	DataClusters uint64     `json:"data_clusters"`
	MDPages      uint64     `json:"md_pages"`
	MaxGrowable  uint64     `json:"max_growable"`
	Ratio        uint64     `json:"ratio"`
	ClearMethod  string     `json:"clear_method,omitempty"`
	Lvols        []diskLvol `json:"lvols"`
}

type diskLvol struct {
	UUID           string   `json:"uuid"`
	Name           string   `json:"name"`
	Clusters       uint64   `json:"clusters"`
	Allocated      uint64   `json:"allocated"`
	Thin           bool     `json:"thin,omitempty"`
	ReadOnly       bool     `json:"read_only,omitempty"`
	Snapshot       bool     `json:"snapshot,omitempty"`
	Clones         []string `json:"clones,omitempty"` // UUIDs, in attach order
	Esnap          string   `json:"esnap,omitempty"`
	EsnapOnClaimed bool     `json:"esnap_on_claimed,omitempty"`
	StrayExtent    bool     `json:"stray_extent,omitempty"`
	Page           uint64   `json:"page,omitempty"`
	Extents        []uint64 `json:"extents,omitempty"`
}

func encodeStore(s *lvstore) diskStore {
	d := diskStore{DevBytes: s.devBytes, UUID: s.uuid, Name: s.name, ClusterSize: s.clusterSize, IOUnit: s.ioUnit, DataClusters: s.dataClusters,
		MDPages: s.mdPages, MaxGrowable: s.maxGrowable, Ratio: s.ratio, ClearMethod: s.clearMethod}
	for _, l := range s.lvols {
		dl := diskLvol{UUID: l.uuid, Name: l.name, Clusters: l.clusters, Allocated: l.allocated, Thin: l.thin,
			ReadOnly: l.readOnly, Snapshot: l.snapshot, Esnap: l.esnap, EsnapOnClaimed: l.esnapOnClaimed,
			StrayExtent: l.strayExtent, Page: l.page, Extents: l.extents}
		for _, c := range l.clones {
			dl.Clones = append(dl.Clones, c.uuid)
		}
		d.Lvols = append(d.Lvols, dl)
	}
	return d
}

// persistLocked writes every lvstore that stands on an aio file to it.
func (m *model) persistLocked() error {
	for _, s := range m.stores {
		if err := m.persistStoreLocked(s); err != nil {
			return err
		}
	}
	return nil
}

// persistStoreLocked writes s to its aio file, if it stands on one.
func (m *model) persistStoreLocked(s *lvstore) error {
	md, ok := mediumOf(s.base)
	if !ok || md.file == "" {
		return nil
	}
	return writeMetadata(md.file, encodeStore(s))
}

func writeMetadata(file string, d diskStore) error {
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode lvstore %s: %w", d.Name, err)
	}
	buf := make([]byte, 0, len(metaMagic)+8+len(body))
	buf = append(buf, metaMagic...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(body)))
	buf = append(buf, body...)
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write lvstore %s metadata: %w", d.Name, err)
	}
	_, err = f.WriteAt(buf, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write lvstore %s metadata to %s: %w", d.Name, file, err)
	}
	return nil
}

// wipeMetadata erases the magic, as bdev_lvol_delete_lvstore erases the
// super block.
func wipeMetadata(file string) error {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("wipe lvstore metadata: %w", err)
	}
	_, err = f.WriteAt(make([]byte, len(metaMagic)), 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readMetadata returns the lvstore stored in file; ok is false for a blank
// disk.
func readMetadata(file string) (d diskStore, ok bool, err error) {
	f, err := os.Open(file)
	if err != nil {
		return d, false, err
	}
	defer f.Close()
	head := make([]byte, len(metaMagic)+8)
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head[:len(metaMagic)], metaMagic) {
		return d, false, nil
	}
	n := binary.BigEndian.Uint64(head[len(metaMagic):])
	if n > 64<<20 {
		return d, false, fmt.Errorf("%w: %s: length %d", ErrBadMetadata, file, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(f, body); err != nil {
		return d, false, fmt.Errorf("%w: %s: %v", ErrBadMetadata, file, err)
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return d, false, fmt.Errorf("%w: %s: %v", ErrBadMetadata, file, err)
	}
	return d, true, nil
}

// loadStoreLocked brings back the lvstore d on b, unless one of that
// UUID or name is already open. Like SPDK's examine, failures only leave
// the bdev unclaimed.
func (m *model) loadStoreLocked(b *bdev, d diskStore) {
	if d.DevBytes > b.size() {
		return
	}
	if _, dup := m.findStoreLocked(d.UUID, true); dup {
		return
	}
	if _, dup := m.findStoreLocked(d.Name, false); dup {
		return
	}
	ioUnit := d.IOUnit
	if ioUnit == 0 { // written before the field existed
		ioUnit = b.blockSize
	}
	s := &lvstore{devBytes: d.DevBytes, uuid: d.UUID, name: d.Name, base: b, clusterSize: d.ClusterSize, ioUnit: ioUnit,
		dataClusters: d.DataClusters, mdPages: d.MDPages, maxGrowable: d.MaxGrowable, ratio: d.Ratio, clearMethod: d.ClearMethod}
	m.stores = append(m.stores, s)
	byUUID := map[string]*lvol{}
	for _, dl := range d.Lvols {
		m.lvolSeq++
		l := &lvol{uuid: dl.UUID, name: dl.Name, aliasFull: d.Name + "/" + dl.Name, lvs: s, seq: m.lvolSeq, clusters: dl.Clusters,
			allocated: dl.Allocated, thin: dl.Thin, readOnly: dl.ReadOnly, snapshot: dl.Snapshot,
			esnap: dl.Esnap, esnapOnClaimed: dl.EsnapOnClaimed, strayExtent: dl.StrayExtent, page: dl.Page, extents: dl.Extents}
		s.lvols = append(s.lvols, l)
		byUUID[l.uuid] = l
	}
	s.restorePages()
	for _, dl := range d.Lvols {
		p := byUUID[dl.UUID]
		for _, c := range dl.Clones {
			if cl, ok := byUUID[c]; ok && !slices.Contains(p.clones, cl) {
				p.clones = append(p.clones, cl)
				cl.parent = p
			}
		}
	}
	for _, l := range s.lvols {
		if l.esnap != "" {
			eb, ok := m.findBdevByUUIDLocked(l.esnap)
			if !ok {
				continue // degraded until a bdev with that UUID appears
			}
			l.esnapBdev = eb
		}
		m.registerLvolLocked(l)
	}
}
