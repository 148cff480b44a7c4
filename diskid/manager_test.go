package diskid

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

const (
	uA  = "aaaa0000-0000-4000-8000-000000000001"
	uA2 = "aaaa1111-0000-4000-8000-000000000002"
	uB  = "bbbb0000-0000-4000-8000-000000000001"
	uC  = "cccc0000-0000-4000-8000-000000000001"
	uD  = "dddd0000-0000-4000-8000-000000000001"
)

func TestManager_initCreatesOnceWithUniquePrefix(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	reg := filepath.Join(root, "registry.json")
	writeFile(t, reg, regJSON("other", uA))
	m := newTestManager(t, func(c *Config) {
		c.RegistryPath = reg
		c.NewUUID = uuidQueue(uA2, uB) // the first candidate shares aaaa with the registry
	})
	if err := m.ReloadRegistry(ctx); err != nil {
		t.Fatal(err)
	}
	dir := newDisk(t, root, "disk1", "")
	st, err := m.Init(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.UUID != uB || st.State != StateOK || st.Prefix != "bbbb" || st.Name != "disk1" {
		t.Fatalf("status after init: %+v", st)
	}
	id, err := ReadIdentity(dir)
	if err != nil || id.UUID != uB || !id.Created.Equal(testTime) {
		t.Fatalf("identity file: %+v, %v", id, err)
	}
	// Init again keeps the identity.
	if st, err := m.Init(ctx, dir); err != nil || st.UUID != uB {
		t.Fatalf("second init: %+v, %v", st, err)
	}
	if ok, why := m.Ready(); !ok {
		t.Errorf("not ready: %s", why)
	}
}

func TestManager_initRefusesDamagedIdentity(t *testing.T) {
	tests := []struct {
		name, content string
		err           error
	}{
		{"empty", "", ErrIdentityEmpty},
		{"truncated", goodIdentity[:33], ErrIdentityCorrupt},
		{"short uuid", `{"version":1,"uuid":"aaaa","name":"d","created":"2026-11-21T10:00:00Z"}`, ErrMalformedUUID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newDisk(t, t.TempDir(), "d", "")
			file := filepath.Join(dir, IdentityFile)
			writeFile(t, file, tt.content)
			m := newTestManager(t, nil)
			st, err := m.Init(context.Background(), dir)
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), file) {
				t.Fatalf("error = %v, want %v naming %s", err, tt.err, file)
			}
			if st.State != StateFailed || !st.Has(CondIdentityInvalid) {
				t.Errorf("status = %+v, want failed with identity-invalid", st)
			}
			if data, _ := os.ReadFile(file); string(data) != tt.content {
				t.Errorf("damaged identity was replaced by %q", data)
			}
			if ok, why := m.Ready(); ok || !strings.Contains(why, file) {
				t.Errorf("Ready = %v, %q; want not ready naming the file", ok, why)
			}
		})
	}
}

func TestManager_checkCollisionWithRegistry(t *testing.T) {
	tests := []struct {
		name       string
		regenerate bool
		inUse      bool
		lvstoreOn  bool
		wantRegen  bool
		wantMsg    string
	}{
		{name: "unused disk is regenerated", regenerate: true, wantRegen: true},
		{name: "disk in use is reported", regenerate: true, inUse: true, wantMsg: "in use"},
		{name: "disk with an lvstore is reported", regenerate: true, lvstoreOn: true, wantMsg: "in use"},
		{name: "regeneration off", regenerate: false, wantMsg: "automatic regeneration is off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			root := t.TempDir()
			reg := filepath.Join(root, "registry.json")
			writeFile(t, reg, regJSON("other", uB))
			dir := newDisk(t, root, "disk1", uA)
			if tt.inUse {
				writeFile(t, filepath.Join(dir, "replica.img"), "data")
			}
			m := newTestManager(t, func(c *Config) {
				c.RegistryPath = reg
				c.RegenerateUnused = tt.regenerate
				c.NewUUID = uuidQueue(uC)
			})
			if tt.lvstoreOn {
				m.SetLvstores([]LvstoreDisk{{Name: "lvs1", UUID: uD, Path: dir}})
			}
			if _, err := m.Add(dir); err != nil {
				t.Fatal(err)
			}
			if err := m.ReloadRegistry(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if st := mustStatus(t, m, dir); st.State != StateOK || st.UUID != uA {
				t.Fatalf("before the collision: %+v", st)
			}
			// The registry now lists another node's disk with our prefix.
			writeFile(t, reg, regJSON("other", uB, uA2))
			if err := m.ReloadRegistry(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Check(ctx); err != nil {
				t.Fatal(err)
			}
			st := mustStatus(t, m, dir)
			id, _ := ReadIdentity(dir)
			c := m.Counters()
			if c.Collisions != 1 {
				t.Errorf("collisions counted = %d, want 1", c.Collisions)
			}
			if tt.wantRegen {
				if st.UUID != uC || id.UUID != uC || st.State != StateOK || c.Regenerations != 1 {
					t.Fatalf("want regenerated to %s: status %+v, file %s, counters %+v", uC, st, id.UUID, c)
				}
				return
			}
			if st.UUID != uA || id.UUID != uA || st.State != StateCollision || c.Regenerations != 0 {
				t.Fatalf("want kept and reported: status %+v, file %s, counters %+v", st, id.UUID, c)
			}
			if !st.Has(CondPrefixCollision) || !strings.Contains(st.Conditions[0].Message, tt.wantMsg) ||
				!strings.Contains(st.Conditions[0].Message, "other/d1") {
				t.Errorf("condition = %+v, want prefix-collision naming other/d1 and %q", st.Conditions, tt.wantMsg)
			}
			// A second check does not count the same collision again.
			if _, err := m.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if got := m.Counters().Collisions; got != 1 {
				t.Errorf("collisions after a second check = %d, want 1", got)
			}
		})
	}
}

func TestManager_twoLocalDisksYoungerUnusedRegenerates(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	older := newDisk(t, root, "older", uA)
	younger := filepath.Join(root, "younger")
	if err := os.Mkdir(younger, 0o755); err != nil {
		t.Fatal(err)
	}
	id := Identity{Version: FormatVersion, UUID: uA2, Name: "younger", Created: testTime.Add(1)}
	if err := CreateIdentity(ctx, younger, id); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, func(c *Config) { c.NewUUID = uuidQueue(uC) })
	for _, p := range []string{younger, older} {
		if _, err := m.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustStatus(t, m, older).UUID; got != uA {
		t.Errorf("older disk changed to %s", got)
	}
	if got := mustStatus(t, m, younger).UUID; got != uC {
		t.Errorf("younger disk = %s, want regenerated to %s", got, uC)
	}
}

func TestManager_regenerate(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	m := newTestManager(t, func(c *Config) { c.NewUUID = uuidQueue(uC, uD) })
	used := newDisk(t, root, "used", uA)
	writeFile(t, filepath.Join(used, "replica.img"), "data")
	unused := newDisk(t, root, "unused", uB)
	for _, p := range []string{used, unused} {
		if _, err := m.Init(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := m.Regenerate(ctx, used, false); !errors.Is(err, ErrDiskInUse) || !strings.Contains(err.Error(), "replica.img") {
		t.Fatalf("regenerate a used disk without force: %v, want ErrDiskInUse naming replica.img", err)
	}
	old, next, err := m.Regenerate(ctx, unused, false)
	if err != nil || old != uB || next != uC {
		t.Fatalf("regenerate unused = %s -> %s, %v", old, next, err)
	}
	old, next, err = m.Regenerate(ctx, used, true)
	if err != nil || old != uA || next != uD {
		t.Fatalf("regenerate used with force = %s -> %s, %v", old, next, err)
	}
	if got := mustStatus(t, m, used).UUID; got != uD {
		t.Errorf("status after forced regenerate = %s", got)
	}
	if _, _, err := m.Regenerate(ctx, filepath.Join(root, "nope"), true); !errors.Is(err, ErrUnknownDisk) {
		t.Errorf("unknown disk: %v", err)
	}
	m.SetLvstores([]LvstoreDisk{{Name: "lvs", UUID: "eeee0000-0000-4000-8000-000000000001", Path: unused}})
	if _, _, err := m.Regenerate(ctx, unused, false); !errors.Is(err, ErrDiskInUse) || !strings.Contains(err.Error(), "lvstore lvs") {
		t.Errorf("disk with an lvstore: %v", err)
	}
	if got := m.Counters().Regenerations; got != 2 {
		t.Errorf("regenerations = %d, want 2", got)
	}
}

func TestManager_forcedRegenerateRepairsDamagedIdentity(t *testing.T) {
	ctx := context.Background()
	dir := newDisk(t, t.TempDir(), "d", "")
	writeFile(t, filepath.Join(dir, IdentityFile), "{")
	m := newTestManager(t, nil)
	if _, err := m.Init(ctx, dir); !errors.Is(err, ErrIdentityCorrupt) {
		t.Fatalf("init: %v", err)
	}
	if _, _, err := m.Regenerate(ctx, dir, false); !errors.Is(err, ErrIdentityCorrupt) {
		t.Fatalf("regenerate without force: %v, want the corruption", err)
	}
	if _, next, err := m.Regenerate(ctx, dir, true); err != nil || mustStatus(t, m, dir).UUID != next {
		t.Fatalf("forced regenerate: %s, %v", next, err)
	}
}

func TestManager_lvstores(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	reg := filepath.Join(root, "registry.json")
	writeFile(t, reg, regJSON("other", uA2))
	m := newTestManager(t, func(c *Config) { c.RegistryPath = reg })
	if err := m.ReloadRegistry(ctx); err != nil {
		t.Fatal(err)
	}
	m.SetLvstores([]LvstoreDisk{
		{Name: "lvs-a", UUID: spdkrpc.LvstoreUUID(strings.ToUpper(uA))},
		{Name: "lvs-b", UUID: uB},
		{Name: "lvs-bad", UUID: "not-a-uuid"},
	})
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[spdkrpc.LvstoreName]DiskStatus{}
	for _, s := range m.Disks() {
		got[s.Lvstore] = s
	}
	if s := got["lvs-a"]; s.State != StateCollision || !strings.Contains(s.Conditions[0].Message, "cannot be regenerated") || s.UUID != uA {
		t.Errorf("lvs-a: %+v", s)
	}
	if s := got["lvs-b"]; s.State != StateOK || s.Kind != KindLvstore {
		t.Errorf("lvs-b: %+v", s)
	}
	if s := got["lvs-bad"]; s.State != StateFailed || !s.Has(CondUUIDInvalid) {
		t.Errorf("lvs-bad: %+v", s)
	}
}

func TestManager_ownNodeRegistryEntriesIgnored(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	reg := filepath.Join(root, "registry.json")
	// The registry still lists this node's disk under a UUID sharing its
	// prefix (say, before a regeneration): that is not a collision.
	writeFile(t, reg, regJSON("me", uA2))
	dir := newDisk(t, root, "d", uA)
	m := newTestManager(t, func(c *Config) { c.RegistryPath = reg; c.Node = "me" })
	if err := m.ReloadRegistry(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Init(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if st := mustStatus(t, m, dir); st.State != StateOK || st.UUID != uA {
		t.Errorf("status: %+v", st)
	}
}
