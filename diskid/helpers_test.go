package diskid

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// uuidQueue returns the given UUIDs in order, then random ones: tests use
// it to force a prefix collision on the first attempt.
func uuidQueue(us ...string) func() (uuid.UUID, error) {
	var mu sync.Mutex
	return func() (uuid.UUID, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(us) == 0 {
			return uuid.NewRandom()
		}
		u := uuid.MustParse(us[0])
		us = us[1:]
		return u, nil
	}
}

var testTime = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func newTestManager(t *testing.T, mutate func(*Config)) *Manager {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Now = func() time.Time { return testTime }
	cfg.Debounce = 20 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writeIdentity puts an identity with UUID u into a new disk directory.
func newDisk(t *testing.T, root, name, u string) string {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if u != "" {
		id := Identity{Version: FormatVersion, UUID: DiskUUID(u), Name: name, Created: testTime}
		if err := CreateIdentity(context.Background(), dir, id); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustStatus(t *testing.T, m *Manager, path string) DiskStatus {
	t.Helper()
	s, ok := m.Lookup(path)
	if !ok {
		t.Fatalf("disk %s not managed", path)
	}
	return s
}

// waitFor polls cond until it holds or the test's patience ends.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
