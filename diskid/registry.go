package diskid

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// RegistryEntry is one disk of the cluster as the registry lists it.
type RegistryEntry struct {
	UUID DiskUUID `json:"uuid"`
	// Node is the node the disk is attached to.
	Node string `json:"node"`
	// Disk is the disk's name on that node.
	Disk string `json:"disk"`
}

// Registry lists the UUIDs of every disk in the cluster. It is usually a
// mounted ConfigMap that a cluster controller maintains:
//
//	{"disks": [{"uuid": "3f2a...", "node": "node-1", "disk": "nvme0"}, ...]}
type Registry struct {
	Disks []RegistryEntry `json:"disks"`
}

type registryJSON struct {
	Disks []struct {
		UUID string `json:"uuid"`
		Node string `json:"node"`
		Disk string `json:"disk"`
	} `json:"disks"`
}

// ParseRegistry parses a registry file. An empty registry (no bytes, or no
// disks) is ErrRegistryEmpty: a cluster whose registry lists no disk at all
// is far more likely a half-written or wrongly rendered file than the truth.
// Anything else wrong is ErrRegistryInvalid naming the entry. The same UUID
// listed twice for different disks is kept: that is a collision to report,
// not a malformed file.
func ParseRegistry(data []byte) (Registry, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Registry{}, fmt.Errorf("%w: no content", ErrRegistryEmpty)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw registryJSON
	if err := dec.Decode(&raw); err != nil {
		return Registry{}, fmt.Errorf("%w: %w", ErrRegistryInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Registry{}, fmt.Errorf("%w: trailing data after the JSON object", ErrRegistryInvalid)
	}
	if len(raw.Disks) == 0 {
		return Registry{}, fmt.Errorf("%w: no disks listed", ErrRegistryEmpty)
	}
	reg := Registry{Disks: make([]RegistryEntry, 0, len(raw.Disks))}
	seen := make(map[RegistryEntry]bool, len(raw.Disks))
	for i, e := range raw.Disks {
		u, err := ParseDiskUUID(e.UUID)
		if err != nil {
			return Registry{}, fmt.Errorf("%w: disks[%d] (node %q, disk %q): %w", ErrRegistryInvalid, i, e.Node, e.Disk, err)
		}
		if strings.TrimSpace(e.Node) == "" || strings.TrimSpace(e.Disk) == "" {
			return Registry{}, fmt.Errorf("%w: disks[%d] (uuid %s): node and disk must be set", ErrRegistryInvalid, i, u)
		}
		entry := RegistryEntry{UUID: u, Node: e.Node, Disk: e.Disk}
		if seen[entry] {
			continue
		}
		seen[entry] = true
		reg.Disks = append(reg.Disks, entry)
	}
	return reg, nil
}

// Marshal returns the registry as a file.
func (r Registry) Marshal() []byte {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		panic("diskid: marshal registry: " + err.Error()) // only strings
	}
	return append(b, '\n')
}

// DefaultMaxDropFraction is the default share of known disks that one
// registry update may drop. Disks leave a cluster one node or a few disks at
// a time; an update that loses more than half of them at once is almost
// always a truncated or wrongly rendered file.
const DefaultMaxDropFraction = 0.5

// checkPlausible reports whether next may replace prev. It is implausible
// when it drops at least two of prev's UUIDs and more than maxDrop (a
// fraction in [0, 1]) of them: a single disk may always leave, so that a
// two-disk cluster can shrink, and maxDrop 1 disables the check.
func checkPlausible(prev, next Registry, maxDrop float64) error {
	if len(prev.Disks) == 0 || maxDrop >= 1 {
		return nil
	}
	kept := make(map[DiskUUID]bool, len(next.Disks))
	for _, e := range next.Disks {
		kept[e.UUID] = true
	}
	var dropped []DiskUUID
	for _, e := range prev.Disks {
		if !kept[e.UUID] && !slices.Contains(dropped, e.UUID) {
			dropped = append(dropped, e.UUID)
		}
	}
	if len(dropped) >= 2 && float64(len(dropped)) > maxDrop*float64(len(prev.Disks)) {
		return fmt.Errorf("%w: it drops %d of %d known disks (more than %.0f%%), e.g. %s",
			ErrRegistryImplausible, len(dropped), len(prev.Disks), maxDrop*100, dropped[0])
	}
	return nil
}

// parsePlausible parses data and checks it against prev.
func parsePlausible(prev Registry, data []byte, maxDrop float64) (Registry, error) {
	next, err := ParseRegistry(data)
	if err != nil {
		return Registry{}, err
	}
	if err := checkPlausible(prev, next, maxDrop); err != nil {
		return Registry{}, err
	}
	return next, nil
}
