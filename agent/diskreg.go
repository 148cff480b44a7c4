package agent

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// diskRegFileName is the file, in the state directory, that lists the disk
// directories registered through agent_disk_init, so that a registration
// survives an agent restart like a --disk flag does.
const diskRegFileName = "registered-disks.json"

// diskRegistrations is the persisted set of disk directories registered at
// run time. Disks given with --disk are not in it: the flags own those.
type diskRegistrations struct {
	path string

	mu    sync.Mutex // protects paths
	paths []string   // sorted, absolute, clean
}

// loadDiskRegistrations reads the registrations file; a missing file is an
// empty set, a damaged one an error: forgetting a disk silently would stop
// checking its identity.
func loadDiskRegistrations(path string) (*diskRegistrations, error) {
	paths, err := loadStateList(path, "registered disks", func(p string) error {
		if p == "" || p[0] != '/' {
			return fmt.Errorf("holds %q, not an absolute path", p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	return &diskRegistrations{path: path, paths: slices.Compact(paths)}, nil
}

// list returns the registered paths.
func (r *diskRegistrations) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.paths)
}

// add registers path and persists the set; added is false when it was
// registered already. On a write failure nothing changes.
func (r *diskRegistrations) add(path string) (added bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, found := slices.BinarySearch(r.paths, path)
	if found {
		return false, nil
	}
	next := slices.Insert(slices.Clone(r.paths), i, path)
	if err := r.saveLocked(next); err != nil {
		return false, err
	}
	r.paths = next
	return true, nil
}

// remove forgets path and persists the set; removed is false when it was
// not registered. On a write failure nothing changes.
func (r *diskRegistrations) remove(path string) (removed bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, found := slices.BinarySearch(r.paths, path)
	if !found {
		return false, nil
	}
	next := slices.Delete(slices.Clone(r.paths), i, i+1)
	if err := r.saveLocked(next); err != nil {
		return false, err
	}
	r.paths = next
	return true, nil
}

// saveLocked writes paths atomically. The caller must hold r.mu.
func (r *diskRegistrations) saveLocked(paths []string) error {
	if paths == nil {
		paths = []string{}
	}
	b, err := json.MarshalIndent(paths, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(r.path, append(b, '\n'), 0o644)
}
