package agent

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// readOnlyFileName is the file, in the state directory, that lists the lvols
// set read-only through the agent. SPDK keeps the flag in the blob's metadata
// (so it survives an SPDK restart) but shows it in none of its listings, and
// a rename of a read-only lvol is half applied: the agent must remember the
// flag itself, across its own restarts too.
const readOnlyFileName = "read-only-lvols.json"

// readOnlyLvol is one remembered read-only lvol. Alias is for people reading
// the file; the lvol is known by UUID (a rename does not change it).
type readOnlyLvol struct {
	UUID    spdkrpc.LvolUUID    `json:"uuid"`
	Alias   spdkrpc.LvolAlias   `json:"alias,omitempty"`
	Lvstore spdkrpc.LvstoreUUID `json:"lvstore,omitempty"`
	SetAt   time.Time           `json:"set_at"`
}

// readOnlyStore is the persisted set of lvols set read-only through the agent.
type readOnlyStore struct {
	path string

	mu   sync.Mutex // protects byID
	byID map[spdkrpc.LvolUUID]readOnlyLvol
}

// loadReadOnly reads the read-only file; a missing file is an empty set, a
// damaged one an error: forgetting a read-only lvol silently would let a
// half-applied rename through.
func loadReadOnly(path string) (*readOnlyStore, error) {
	list, err := loadStateList(path, "read-only lvols", func(l readOnlyLvol) error {
		if l.UUID == "" {
			return fmt.Errorf("has an entry without uuid (alias %q)", l.Alias)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &readOnlyStore{path: path, byID: map[spdkrpc.LvolUUID]readOnlyLvol{}}
	for _, l := range list {
		s.byID[l.UUID] = l
	}
	return s, nil
}

// has reports whether the lvol u was set read-only through the agent.
func (s *readOnlyStore) has(u spdkrpc.LvolUUID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[u]
	return ok
}

// list returns the remembered lvols sorted by UUID.
func (s *readOnlyStore) list() []readOnlyLvol {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

func (s *readOnlyStore) listLocked() []readOnlyLvol {
	out := make([]readOnlyLvol, 0, len(s.byID))
	for _, l := range s.byID {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b readOnlyLvol) int { return strings.Compare(string(a.UUID), string(b.UUID)) })
	return out
}

// add remembers l and persists the set. The lvol is remembered in memory
// even when the write fails: the guard must refuse its rename now.
func (s *readOnlyStore) add(l readOnlyLvol) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byID[l.UUID]; ok && old.Alias == l.Alias && old.Lvstore == l.Lvstore {
		return nil
	}
	s.byID[l.UUID] = l
	return s.saveLocked()
}

// prune forgets the remembered lvols a full-sync snapshot proves gone and
// returns them. It proves nothing unless the snapshot is complete (after an
// SPDK restart lvstores come back one by one), and an lvol is gone only if
// its lvstore is listed, free of anomalies and without it, or is no longer
// expected at all (deleted and forgotten).
func (s *readOnlyStore) prune(snap *Snapshot) ([]readOnlyLvol, error) {
	if snap == nil || snap.Graph == nil || !snap.Complete() {
		return nil, nil
	}
	g := snap.Graph
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []readOnlyLvol
	for _, l := range s.listLocked() {
		if _, ok := g.Lvol(lvolgraph.UUIDRef(l.UUID)); ok {
			continue
		}
		if lvs, ok := g.Lvstore(lvolgraph.UUIDRef(l.Lvstore)); ok && (!lvs.Listed || !g.Trustworthy(l.Lvstore)) {
			continue
		}
		gone = append(gone, l)
	}
	if len(gone) == 0 {
		return nil, nil
	}
	for _, l := range gone {
		delete(s.byID, l.UUID)
	}
	if err := s.saveLocked(); err != nil {
		for _, l := range gone {
			s.byID[l.UUID] = l
		}
		return nil, err
	}
	return gone, nil
}

// saveLocked writes the set atomically. The caller must hold s.mu.
func (s *readOnlyStore) saveLocked() error {
	b, err := json.MarshalIndent(s.listLocked(), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, append(b, '\n'), 0o644)
}
