package diskid

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManager_registryRejectsBadUpdates(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	reg, state := filepath.Join(root, "registry.json"), filepath.Join(root, "state")
	m := newTestManager(t, func(c *Config) { c.RegistryPath = reg; c.StateDir = state })
	many := []string{uA, uB, uC, uD}
	writeFile(t, reg, regJSON("n", many...))
	if err := m.ReloadRegistry(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(filepath.Join(state, SavedRegistryFile))
	if err != nil {
		t.Fatalf("last good copy not saved: %v", err)
	}
	if r, err := ParseRegistry(saved); err != nil || len(r.Disks) != 4 {
		t.Fatalf("saved copy: %d disks, %v", len(r.Disks), err)
	}

	tests := []struct {
		name, content string
		err           error
	}{
		{"empty file", "", ErrRegistryEmpty},
		{"no disks", `{"disks":[]}`, ErrRegistryEmpty},
		{"half written", regJSON("n", many...)[:70], ErrRegistryInvalid},
		{"drops most disks", regJSON("n", uA), ErrRegistryImplausible},
	}
	for i, tt := range tests {
		writeFile(t, reg, tt.content)
		err := m.ReloadRegistry(ctx)
		if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), reg) {
			t.Fatalf("%s: error = %v, want %v naming the file", tt.name, err, tt.err)
		}
		r, info, ok := m.Registry()
		if !ok || len(r.Disks) != 4 || !info.Stale || info.Problem == "" {
			t.Fatalf("%s: last good registry not kept: %d disks, %+v", tt.name, len(r.Disks), info)
		}
		if got := m.Counters().RegistryRejected; got != uint64(i+1) {
			t.Fatalf("%s: rejected = %d, want %d", tt.name, got, i+1)
		}
		// Reading the same bad content again is not a new rejection.
		if err := m.ReloadRegistry(ctx); !errors.Is(err, tt.err) {
			t.Fatalf("%s: re-read: %v", tt.name, err)
		}
		if got := m.Counters().RegistryRejected; got != uint64(i+1) {
			t.Fatalf("%s: same content counted again: %d", tt.name, got)
		}
		if ok, why := m.Ready(); !ok || !strings.Contains(why, "stale") {
			t.Errorf("%s: Ready = %v, %q; want ready but stale", tt.name, ok, why)
		}
	}
	// The saved copy is still the last good one.
	if again, _ := os.ReadFile(filepath.Join(state, SavedRegistryFile)); string(again) != string(saved) {
		t.Errorf("saved copy overwritten by a rejected update: %s", again)
	}
	// A plausible update is adopted and clears staleness.
	writeFile(t, reg, regJSON("n", uA, uB, uC))
	if err := m.ReloadRegistry(ctx); err != nil {
		t.Fatal(err)
	}
	if r, info, _ := m.Registry(); len(r.Disks) != 3 || info.Stale {
		t.Errorf("after a good update: %d disks, %+v", len(r.Disks), info)
	}
}

func TestManager_registryStartupFallsBackToSavedCopy(t *testing.T) {
	tests := []struct {
		name    string
		mounted *string // nil: missing
	}{
		{"mounted missing", nil},
		{"mounted empty", ptr("")},
		{"mounted garbage", ptr("<html>")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			root := t.TempDir()
			reg, state := filepath.Join(root, "registry.json"), filepath.Join(root, "state")
			if err := os.MkdirAll(state, 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(state, SavedRegistryFile), regJSON("n", uA, uB))
			if tt.mounted != nil {
				writeFile(t, reg, *tt.mounted)
			}
			m := newTestManager(t, func(c *Config) { c.RegistryPath = reg; c.StateDir = state })
			if err := m.ReloadRegistry(ctx); err == nil {
				t.Fatal("bad mounted registry accepted")
			}
			r, info, ok := m.Registry()
			if !ok || len(r.Disks) != 2 || !info.Stale || !strings.Contains(info.Source, SavedRegistryFile) {
				t.Fatalf("saved copy not used: %d disks, %+v", len(r.Disks), info)
			}
			if _, err := m.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if ok, why := m.Ready(); !ok {
				t.Errorf("not ready with the saved copy: %s", why)
			}
		})
	}
}

func TestManager_noGoodRegistryIsNotReady(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	reg := filepath.Join(root, "registry.json")
	writeFile(t, reg, "")
	m := newTestManager(t, func(c *Config) { c.RegistryPath = reg; c.StateDir = filepath.Join(root, "state") })
	_ = m.ReloadRegistry(ctx)
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, why := m.Ready(); ok || !strings.Contains(why, "empty") {
		t.Errorf("Ready = %v, %q; want not ready saying the registry is empty", ok, why)
	}
	// Without a registry configured, local disks alone decide.
	m2 := newTestManager(t, nil)
	if ok, _ := m2.Ready(); ok {
		t.Error("ready before any check")
	}
	if _, err := m2.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, why := m2.Ready(); !ok {
		t.Errorf("no registry configured: not ready: %s", why)
	}
}

func ptr[T any](v T) *T { return &v }
