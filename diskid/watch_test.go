package diskid

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// configMap imitates a kubelet's projection of a ConfigMap key: the file
// is a symlink through "..data", and an update swaps "..data" atomically.
type configMap struct {
	t   *testing.T
	dir string
	gen int
}

func newConfigMap(t *testing.T, dir, content string) *configMap {
	c := &configMap{t: t, dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.update(content)
	if err := os.Symlink(filepath.Join("..data", "registry.json"), filepath.Join(dir, "registry.json")); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *configMap) path() string { return filepath.Join(c.dir, "registry.json") }

// update writes a new timestamped directory, points ..data_tmp at it,
// renames ..data_tmp over ..data and removes the old directory.
func (c *configMap) update(content string) {
	t := c.t
	c.gen++
	ts := fmt.Sprintf("..2026_11_21_10_00_%02d.%09d", c.gen, c.gen)
	if err := os.Mkdir(filepath.Join(c.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(c.dir, ts, "registry.json"), content)
	old, _ := os.Readlink(filepath.Join(c.dir, "..data"))
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(c.dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestManager_runFollowsConfigMapSwaps(t *testing.T) {
	root := t.TempDir()
	cm := newConfigMap(t, filepath.Join(root, "cm"), regJSON("other", uB, uC, uD))
	disk := newDisk(t, root, "disk1", uA)
	m := newTestManager(t, func(c *Config) {
		c.RegistryPath = cm.path()
		c.StateDir = filepath.Join(root, "state")
		c.RecheckInterval = time.Hour // only watch events may trigger
		c.NewUUID = uuidQueue("eeee0000-0000-4000-8000-000000000001")
	})
	if _, err := m.Add(disk); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not stop after its context was cancelled")
		}
	}()
	waitFor(t, "the first registry", func() bool { ok, _ := m.Ready(); return ok })

	// Another node's disk appears with our prefix: the unused disk yields.
	cm.update(regJSON("other", uB, uC, uD, uA2))
	waitFor(t, "regeneration after the swap", func() bool { return mustStatus(t, m, disk).UUID == "eeee0000-0000-4000-8000-000000000001" })

	// A swap to an empty registry is rejected and the last good one kept.
	cm.update("")
	waitFor(t, "the empty registry to be rejected", func() bool { return m.Counters().RegistryRejected == 1 })
	if r, info, _ := m.Registry(); len(r.Disks) != 4 || !info.Stale {
		t.Fatalf("after the empty swap: %d disks, %+v", len(r.Disks), info)
	}
	// So is one that drops most disks at once.
	cm.update(regJSON("other", uB))
	waitFor(t, "the implausible registry to be rejected", func() bool { return m.Counters().RegistryRejected == 2 })

	// The watch survived the swaps: a good update still arrives.
	cm.update(regJSON("other", uB, uC, uD, uA2, "ffff0000-0000-4000-8000-000000000001"))
	waitFor(t, "the good registry after bad ones", func() bool {
		r, info, _ := m.Registry()
		return len(r.Disks) == 5 && !info.Stale
	})
	if got := m.Counters().RegistryRejected; got != 2 {
		t.Errorf("rejected = %d, want 2", got)
	}
}

// TestWatchDir_rereadsOnceWatching checks that installing the watch asks
// for a re-read even without an event: a registry swapped between the
// manager's first read and the watch's start raised no event to see.
func TestWatchDir_rereadsOnceWatching(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchDir(ctx, filepath.Join(dir, "registry.json"), time.Millisecond, slog.New(slog.DiscardHandler), func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-changed:
	case <-time.After(10 * time.Second): // nothing else would ever ask: no event, no failure
		t.Fatal("no re-read was asked for once the directory was watched")
	}
}
