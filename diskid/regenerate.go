package diskid

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
)

// Init makes the filesystem disk at path desired and gives it an identity if
// it has none, with a UUID whose prefix no known disk has. An existing valid
// identity is kept; an existing damaged one is an error naming the file and
// the problem, and the disk is marked failed: it is never replaced here.
func (m *Manager) Init(ctx context.Context, path string) (DiskStatus, error) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	p, err := m.Add(path)
	if err != nil {
		return DiskStatus{}, err
	}
	if err := m.requireSynced(); err != nil {
		return DiskStatus{}, fmt.Errorf("init %s: %w: nothing was written", p, err)
	}
	// Load every desired disk first, so that the new UUID avoids the
	// prefixes of disks added but not yet read.
	if err := m.checkLocked(ctx); err != nil {
		return DiskStatus{}, err
	}
	taken := m.knownPrefixes()
	lctx, cancel := context.WithTimeout(ctx, m.cfg.LockTimeout)
	defer cancel()
	var created Identity
	err = withLockedDir(lctx, p, IdentityFile, func(d *dirHandle) error {
		_, err := readIdentityIn(d)
		if !errors.Is(err, ErrIdentityMissing) {
			return err
		}
		u, err := uniqueUUID(taken, m.cfg.PrefixLen, m.cfg.MaxAttempts, m.cfg.NewUUID)
		if err != nil {
			return fmt.Errorf("new identity for %s: %w", p, err)
		}
		id := Identity{Version: FormatVersion, UUID: u, Name: filepath.Base(p), Created: m.cfg.Now().UTC()}
		if m.cfg.Claims != nil {
			got, err := m.claimIn(lctx, d, id, true, taken)
			created = got
			return err
		}
		if err := createIdentityIn(d, id); err != nil {
			return err
		}
		created = id
		return nil
	})
	if created.UUID != "" {
		m.log.Info("disk identity created", "path", p, "uuid", created.UUID, "prefix", created.UUID.Prefix(m.cfg.PrefixLen))
	}
	if cerr := m.checkLocked(ctx); err == nil {
		err = cerr
	}
	st, ok := m.Lookup(p)
	if err != nil {
		return st, err
	}
	if !ok {
		return DiskStatus{}, fmt.Errorf("%w: %s was removed while it was being initialised", ErrUnknownDisk, p)
	}
	if len(st.Conditions) > 0 && st.State == StateFailed {
		return st, fmt.Errorf("disk %s: %s", p, st.Conditions[0].Message)
	}
	return st, nil
}

// Regenerate gives the filesystem disk at path a new UUID whose prefix no
// known disk has, atomically, and returns the old and the new UUID.
// Without force it refuses a disk that holds anything but its identity file
// or carries an lvstore (ErrDiskInUse). With force it also replaces a damaged
// identity: that is the operator's explicit repair, after evicting the disk.
func (m *Manager) Regenerate(ctx context.Context, path string, force bool) (old, next DiskUUID, err error) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	p, err := cleanPath(path)
	if err != nil {
		return "", "", err
	}
	if _, ok := m.Lookup(p); !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownDisk, p)
	}
	if err := m.requireSynced(); err != nil {
		return "", "", fmt.Errorf("regenerate %s: %w: nothing was changed", p, err)
	}
	if names := m.lvstoresOn(p); len(names) > 0 && !force {
		what := make([]string, len(names))
		for i, n := range names {
			what[i] = "lvstore " + string(n)
		}
		return "", "", inUseError(p, what)
	}
	prev, id, err := m.regenerateIn(ctx, p, "", force, m.knownPrefixes(), "requested")
	if err != nil {
		return "", "", err
	}
	if err := m.checkLocked(ctx); err != nil {
		return prev.UUID, id.UUID, err
	}
	return prev.UUID, id.UUID, nil
}

// regenerateIn replaces the identity at path under its lock. expect, when
// set, is the UUID the caller decided on: if the file holds another one,
// someone else changed it and nothing is written. Without force, a disk that
// is not unused is refused. The caller must hold m.opMu.
func (m *Manager) regenerateIn(ctx context.Context, path string, expect DiskUUID, force bool, taken map[string]bool, reason string) (old, next Identity, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.LockTimeout)
	defer cancel()
	err = withLockedDir(ctx, path, IdentityFile, func(d *dirHandle) error {
		cur, err := readIdentityIn(d)
		switch {
		case err == nil:
			if expect != "" && cur.UUID != expect {
				return fmt.Errorf("%w: %s holds %s, expected %s", ErrIdentityChanged, identityPath(path), cur.UUID, expect)
			}
		case force && !errors.Is(err, ErrIdentityMissing):
			m.log.Warn("replacing a damaged disk identity on request", "path", path, "problem", err)
		default:
			return err
		}
		if !force {
			unused, others, err := unusedIn(d)
			if err != nil {
				return err
			}
			if !unused {
				return inUseError(path, others)
			}
		}
		avoid := maps.Clone(taken)
		if cur.UUID != "" {
			avoid[cur.UUID.Prefix(m.cfg.PrefixLen)] = true
		}
		u, err := uniqueUUID(avoid, m.cfg.PrefixLen, m.cfg.MaxAttempts, m.cfg.NewUUID)
		if err != nil {
			return fmt.Errorf("regenerate %s: %w", path, err)
		}
		name := cur.Name
		if name == "" {
			name = filepath.Base(path)
		}
		next = Identity{Version: FormatVersion, UUID: u, Name: name, Created: m.cfg.Now().UTC()}
		if m.cfg.Claims != nil {
			if err := m.requireSynced(); err != nil {
				return err
			}
			if cur.ClaimPending {
				return fmt.Errorf("%w: %s: the claim of %s is still pending; a check finishes it first", ErrIdentityChanged, identityPath(path), cur.UUID)
			}
			next.Previous = cur.UUID
			if next, err = m.claimIn(ctx, d, next, false, avoid); err != nil {
				return err
			}
			old = cur
			return nil
		}
		if err := d.writeAtomic(IdentityFile, next.Marshal(), false); err != nil {
			return err
		}
		old = cur
		return nil
	})
	if err != nil {
		return Identity{}, Identity{}, err
	}
	m.log.Info("disk identity regenerated", "path", path, "old_uuid", old.UUID, "new_uuid", next.UUID, "reason", reason)
	m.mu.Lock()
	m.counters.Regenerations++
	m.mu.Unlock()
	return old, next, nil
}

// inUseError says what makes a disk in use, naming at most three entries.
func inUseError(path string, what []string) error {
	if len(what) > 3 {
		what = append(what[:3:3], fmt.Sprintf("and %d more", len(what)-3))
	}
	return fmt.Errorf("%w: %s holds %s; evict it first, then force", ErrDiskInUse, path, strings.Join(what, ", "))
}
