package diskid

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestManager_diskDeletedUnderTheAgent(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := newDisk(t, root, "d", uA)
	m := newTestManager(t, nil)
	if _, err := m.Init(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	st := mustStatus(t, m, dir)
	if st.State != StateFailed || !st.Has(CondDiskMissing) || st.UUID != "" {
		t.Fatalf("after deletion: %+v", st)
	}
	if ok, why := m.Ready(); ok || !strings.Contains(why, dir) {
		t.Errorf("Ready = %v, %q", ok, why)
	}
	if _, _, err := m.Regenerate(ctx, dir, true); !errors.Is(err, ErrDiskMissing) {
		t.Errorf("regenerate a deleted disk: %v, want ErrDiskMissing", err)
	}
	// The directory comes back without its identity: reported, not recreated.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if st := mustStatus(t, m, dir); !st.Has(CondIdentityMissing) {
		t.Fatalf("identity gone: %+v", st)
	}
	if _, err := ReadIdentity(dir); !errors.Is(err, ErrIdentityMissing) {
		t.Errorf("Check created an identity: %v", err)
	}
}

// blockedRegeneration sets up a disk that must regenerate (the registry
// brings a colliding prefix), holds the disk's lock so that the
// regeneration waits, and starts Check. release lets it go on.
func blockedRegeneration(t *testing.T) (m *Manager, dir, reg string, release func(), checked <-chan error) {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	reg = filepath.Join(root, "registry.json")
	writeFile(t, reg, regJSON("other", uB, uC, uA2))
	dir = newDisk(t, root, "d", uA)
	m = newTestManager(t, func(c *Config) { c.RegistryPath = reg })
	if _, err := m.Add(dir); err != nil {
		t.Fatal(err)
	}
	if err := m.ReloadRegistry(ctx); err != nil {
		t.Fatal(err)
	}
	holder, err := openDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.lock(ctx); err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() {
		_, err := m.Check(ctx)
		ch <- err
	}()
	// Check holds opMu while it waits for the disk's lock.
	waitFor(t, "Check to wait for the lock", func() bool {
		if m.opMu.TryLock() {
			m.opMu.Unlock()
			return false
		}
		return true
	})
	return m, dir, reg, holder.close, ch
}

func TestManager_diskRemovedDuringRegeneration(t *testing.T) {
	m, dir, _, release, checked := blockedRegeneration(t)
	m.Remove(dir)
	release()
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	if s, ok := m.Lookup(dir); ok {
		t.Fatalf("removed disk resurrected: %+v", s)
	}
	for _, s := range m.Disks() {
		if s.Path == dir {
			t.Fatalf("removed disk listed: %+v", s)
		}
	}
	// The regeneration that was under way completed on disk, atomically.
	if id, err := ReadIdentity(dir); err != nil || id.UUID == uA {
		t.Errorf("identity after the regeneration: %+v, %v", id, err)
	}
}

func TestManager_registryEntryRemovedDuringRegeneration(t *testing.T) {
	ctx := context.Background()
	m, dir, reg, release, checked := blockedRegeneration(t)
	// The colliding entry leaves the registry while the regeneration waits.
	writeFile(t, reg, regJSON("other", uB, uC))
	reloaded := make(chan error, 1)
	go func() { reloaded <- m.ReloadRegistry(ctx) }()
	release()
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	if err := <-reloaded; err != nil {
		t.Fatal(err)
	}
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	st := mustStatus(t, m, dir)
	if st.State != StateOK || len(st.Conditions) != 0 || st.UUID == uA {
		t.Errorf("after the race: %+v", st)
	}
	if r, _, _ := m.Registry(); len(r.Disks) != 2 {
		t.Errorf("registry has %d disks, want 2", len(r.Disks))
	}
}

// TestManager_concurrentChurn runs every operation at once while disk
// directories appear and vanish, under the race detector. Nothing may
// panic, and afterwards every disk is in a clear state.
func TestManager_concurrentChurn(t *testing.T) {
	root := t.TempDir()
	reg := filepath.Join(root, "registry.json")
	writeFile(t, reg, regJSON("other", uB, uC))
	m := newTestManager(t, func(c *Config) { c.RegistryPath = reg; c.PrefixLen = 1; c.LockTimeout = time.Second })
	const disks = 6
	paths := make([]string, disks)
	for i := range paths {
		paths[i] = filepath.Join(root, fmt.Sprintf("disk%d", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	loop := func(f func(i int)) {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				f(i)
			}
		})
	}
	loop(func(i int) { // the desired state changes
		p := paths[i%disks]
		if i%3 == 0 {
			m.Remove(p)
		} else {
			_, _ = m.Add(p)
		}
	})
	loop(func(i int) { // the world changes: directories come and go
		p := paths[(i*7)%disks]
		if i%4 == 0 {
			_ = os.RemoveAll(p)
		} else {
			_ = os.MkdirAll(p, 0o755)
		}
		time.Sleep(time.Millisecond)
	})
	loop(func(i int) { _, _ = m.Init(ctx, paths[i%disks]) })
	loop(func(int) { _, _ = m.Check(ctx) })
	loop(func(i int) { _, _, _ = m.Regenerate(ctx, paths[i%disks], i%2 == 0) })
	loop(func(i int) { // readers
		for _, s := range m.Disks() {
			if s.State == "" {
				t.Errorf("disk without a state: %+v", s)
			}
		}
		_, _ = m.Lookup(paths[i%disks])
		_, _ = m.Ready()
		_ = m.Counters()
	})
	loop(func(i int) {
		m.SetLvstores([]LvstoreDisk{{Name: "lvs", UUID: uD, Path: paths[i%disks]}})
		_ = m.ReloadRegistry(ctx)
	})
	wg.Wait()

	if _, err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Disks() {
		switch s.State {
		case StateOK:
			if s.UUID == "" || len(s.Conditions) != 0 {
				t.Errorf("ok disk without identity or with conditions: %+v", s)
			}
		case StateFailed, StateCollision:
			if len(s.Conditions) == 0 {
				t.Errorf("%s disk without a condition: %+v", s.State, s)
			}
		default:
			t.Errorf("unknown state: %+v", s)
		}
	}
}
