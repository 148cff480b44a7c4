package diskid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SavedRegistryFile is the name of the copy of the last good registry in
// the state directory.
const SavedRegistryFile = "disk-registry.last-good.json"

// registryState is the registry the manager decides with, and why.
type registryState struct {
	cur    Registry
	good   bool   // cur is a registry that passed every check
	stale  bool   // the mounted file's current content was rejected
	source string // where cur came from: the mounted file or the saved copy
	err    error  // why the mounted file's content was last rejected
	// raw is the mounted file's content last read, good or bad, so that
	// unchanged content is neither re-parsed nor counted again.
	raw     []byte
	haveRaw bool
	readErr string // the last read failure, so it is counted once
}

// RegistryInfo describes the registry in use, for status output.
type RegistryInfo struct {
	// Mode is "kube" for the cluster's claims, "file" for a registry
	// file, empty for none.
	Mode    string `json:"mode,omitempty"`
	Path    string `json:"path,omitempty"`
	Disks   int    `json:"disks"`
	Good    bool   `json:"good"`
	Stale   bool   `json:"stale"`
	Source  string `json:"source,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// Registry returns the registry decisions are made with; ok is false when
// no good registry is known.
func (m *Manager) Registry() (Registry, RegistryInfo, bool) {
	if m.cfg.Claims != nil {
		v := m.cfg.Claims.View()
		info := RegistryInfo{Mode: "kube", Path: v.Source, Disks: len(v.Claims), Good: v.Good, Stale: v.Good && !v.Synced, Source: v.Source}
		if !v.Synced {
			info.Problem = v.Problem
		}
		var reg Registry
		for _, c := range v.Claims {
			reg.Disks = append(reg.Disks, RegistryEntry{UUID: c.UUID, Node: c.Node, Disk: string(c.Kind) + ":" + c.Disk})
		}
		return reg, info, v.Good
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	info := RegistryInfo{Path: m.cfg.RegistryPath, Disks: len(m.reg.cur.Disks), Good: m.reg.good, Stale: m.reg.stale, Source: m.reg.source}
	if m.cfg.RegistryPath != "" {
		info.Mode = "file"
	}
	if m.reg.err != nil {
		info.Problem = m.reg.err.Error()
	}
	return m.reg.cur, info, m.reg.good
}

// ReloadRegistry reads the mounted registry and, if its content changed,
// adopts it when it parses and is plausible. A rejected update keeps the last
// good registry, marks it stale, logs and counts the rejection, and returns
// the reason. When no good registry is known yet, the saved copy in the state
// directory stands in. It does not re-check the disks; Run does.
func (m *Manager) ReloadRegistry(ctx context.Context) error {
	if m.cfg.RegistryPath == "" {
		return nil
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	path := m.cfg.RegistryPath
	data, readErr := os.ReadFile(path)

	m.mu.Lock()
	if readErr == nil && m.reg.haveRaw && bytes.Equal(data, m.reg.raw) {
		err := m.reg.err
		m.mu.Unlock()
		return err
	}
	prev, hadGood := m.reg.cur, m.reg.good
	m.mu.Unlock()

	var next Registry
	err := readErr
	if err == nil {
		next, err = parsePlausible(prev, data, m.cfg.MaxDropFraction)
	}
	if err != nil {
		err = fmt.Errorf("registry %s: %w", path, err)
		m.rejectRegistry(data, readErr, err)
		if !hadGood {
			m.loadSavedRegistry()
		}
		return err
	}

	m.mu.Lock()
	m.reg = registryState{cur: next, good: true, source: path, raw: data, haveRaw: true}
	m.mu.Unlock()
	m.log.Info("disk registry updated", "path", path, "disks", len(next.Disks), "before", len(prev.Disks))
	if err := m.saveRegistry(ctx, next); err != nil {
		m.log.Warn("disk registry: cannot save last good copy", "err", err)
	}
	return nil
}

// rejectRegistry records a rejected read or content, keeping the registry
// in use. Content is remembered so that it is counted once.
func (m *Manager) rejectRegistry(data []byte, readErr, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if readErr != nil {
		if m.reg.readErr == readErr.Error() {
			return
		}
		m.reg.readErr = readErr.Error()
		m.reg.raw, m.reg.haveRaw = nil, false
	} else {
		m.reg.readErr = ""
		m.reg.raw, m.reg.haveRaw = data, true
	}
	m.reg.err = err
	m.reg.stale = m.reg.good
	m.counters.RegistryRejected++
	m.log.Warn("disk registry update rejected; keeping the last good registry",
		"err", err, "kept_disks", len(m.reg.cur.Disks), "have_good", m.reg.good)
}

// loadSavedRegistry adopts the saved copy when nothing good is known. The
// copy was checked when it was saved; it is parsed again because the disk it
// is on could have damaged it.
func (m *Manager) loadSavedRegistry() {
	if m.cfg.StateDir == "" {
		return
	}
	saved := filepath.Join(m.cfg.StateDir, SavedRegistryFile)
	data, err := os.ReadFile(saved)
	if err == nil {
		var reg Registry
		if reg, err = ParseRegistry(data); err == nil {
			m.mu.Lock()
			m.reg.cur, m.reg.good, m.reg.stale, m.reg.source = reg, true, true, saved
			m.mu.Unlock()
			m.log.Warn("disk registry: using the saved last good copy", "path", saved, "disks", len(reg.Disks))
			return
		}
	}
	if !errors.Is(err, os.ErrNotExist) {
		m.log.Error("disk registry: saved copy unusable", "path", saved, "err", err)
	}
}

// saveRegistry writes reg as the last good copy, atomically.
func (m *Manager) saveRegistry(ctx context.Context, reg Registry) error {
	if m.cfg.StateDir == "" {
		return nil
	}
	if err := os.MkdirAll(m.cfg.StateDir, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.LockTimeout)
	defer cancel()
	return withLockedDir(ctx, m.cfg.StateDir, SavedRegistryFile, func(d *dirHandle) error {
		return d.writeAtomic(SavedRegistryFile, reg.Marshal(), false)
	})
}
