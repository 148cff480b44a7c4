package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// seenFileName is the file, in the state directory, that remembers every
// lvstore the agent has seen, so that after an SPDK restart (or an agent
// restart) a node whose lvstores have not come back yet is known to be
// incomplete rather than empty.
const seenFileName = "seen-lvstores.json"

// seenLvstore is one remembered lvstore.
type seenLvstore struct {
	UUID     spdkrpc.LvstoreUUID `json:"uuid"`
	Name     spdkrpc.LvstoreName `json:"name"`
	LastSeen time.Time           `json:"last_seen"`
}

// ErrUnknownLvstore is returned by seenStore.Forget when nothing remembered
// matches the given name or UUID.
var ErrUnknownLvstore = errors.New("agent: lvstore not remembered")

// seenStore is the set of lvstores seen so far, persisted atomically.
type seenStore struct {
	path string

	mu   sync.Mutex // protects byID
	byID map[spdkrpc.LvstoreUUID]seenLvstore
}

// loadSeen reads the seen-lvstores file; a missing file is an empty set, a
// damaged one is an error (the agent must not forget lvstores silently).
func loadSeen(path string) (*seenStore, error) {
	list, err := loadStateList(path, "seen lvstores", func(l seenLvstore) error {
		if l.UUID == "" {
			return fmt.Errorf("has an entry without uuid (name %q)", l.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &seenStore{path: path, byID: map[spdkrpc.LvstoreUUID]seenLvstore{}}
	for _, l := range list {
		s.byID[l.UUID] = l
	}
	return s, nil
}

// loadStateList reads a JSON list the agent keeps in its state directory,
// what it holds named by what, each entry checked by check. A missing file
// is an empty list; a damaged file or a bad entry is an error naming the
// file: what the agent remembers is never dropped silently.
func loadStateList[T any](path, what string, check func(T) error) ([]T, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: read %s: %w", what, err)
	}
	var list []T
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("agent: %s file %s is damaged: %w", what, path, err)
	}
	for _, e := range list {
		if err := check(e); err != nil {
			return nil, fmt.Errorf("agent: %s file %s %w", what, path, err)
		}
	}
	return list, nil
}

// list returns the remembered lvstores sorted by name.
func (s *seenStore) list() []seenLvstore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

// listLocked is list; the caller must hold s.mu.
func (s *seenStore) listLocked() []seenLvstore {
	out := make([]seenLvstore, 0, len(s.byID))
	for _, l := range s.byID {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b seenLvstore) int {
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		if a.UUID < b.UUID {
			return -1
		}
		if a.UUID > b.UUID {
			return 1
		}
		return 0
	})
	return out
}

// remember adds or renames the given lvstores and persists the set when it
// changed. Lvstores are never removed here: only forget does that.
func (s *seenStore) remember(lvs []spdkrpc.Lvstore, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, l := range lvs {
		old, ok := s.byID[l.UUID]
		if !ok || old.Name != l.Name {
			changed = true
		}
		s.byID[l.UUID] = seenLvstore{UUID: l.UUID, Name: l.Name, LastSeen: now}
	}
	if !changed {
		return nil
	}
	return s.saveLocked()
}

// match returns the remembered lvstores that ref names: by name, or by
// UUID in either case (SPDK parses UUIDs). More than one is ambiguous: the
// caller decides, nothing is guessed.
func (s *seenStore) match(ref string) []seenLvstore {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seenLvstore
	for _, l := range s.byID {
		if l.Name == spdkrpc.LvstoreName(ref) || strings.EqualFold(string(l.UUID), ref) {
			out = append(out, l)
		}
	}
	return out
}

// forget drops the lvstore with UUID u from memory, persisted at once; on a
// write failure nothing changes.
func (s *seenStore) forget(u spdkrpc.LvstoreUUID) (seenLvstore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.byID[u]
	if !ok {
		return seenLvstore{}, fmt.Errorf("%w: %q", ErrUnknownLvstore, u)
	}
	delete(s.byID, u)
	if err := s.saveLocked(); err != nil {
		s.byID[u] = l
		return seenLvstore{}, err
	}
	return l, nil
}

// saveLocked writes the set atomically. The caller must hold s.mu.
func (s *seenStore) saveLocked() error {
	b, err := json.MarshalIndent(s.listLocked(), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, append(b, '\n'), 0o644)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, then syncs the directory: a reader sees the old file
// or the new one, never half of one, even across a power cut.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("agent: write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// expectation is the set of lvstores that must be present for the graph to be
// complete: the configured ones (name or UUID, resolved against both fields
// explicitly) and the remembered ones (by UUID, so a rename does not make an
// lvstore "missing").
type expectation struct {
	configured []string
	seen       []seenLvstore
}

// missing returns the expected lvstores absent from present, as text for
// operators: the configured string, or "name (uuid)" for remembered ones.
func (e expectation) missing(present []spdkrpc.Lvstore) []string {
	var out []string
	for _, want := range e.configured {
		found := false
		for _, l := range present {
			if l.UUID == spdkrpc.LvstoreUUID(want) || l.Name == spdkrpc.LvstoreName(want) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, want)
		}
	}
	for _, s := range e.seen {
		found := false
		for _, l := range present {
			if l.UUID == s.UUID {
				found = true
				break
			}
		}
		if !found {
			label := fmt.Sprintf("%s (%s)", s.Name, s.UUID)
			if !slices.Contains(out, string(s.Name)) && !slices.Contains(out, string(s.UUID)) {
				out = append(out, label)
			}
		}
	}
	return out
}
