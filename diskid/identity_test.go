package diskid

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

const goodIdentity = `{"version":1,"uuid":"3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b","name":"disk1","created":"2026-11-21T10:00:00Z"}`

func TestParseIdentity(t *testing.T) {
	tests := []struct {
		name, in string
		err      error
		msg      string // a part of the error message
	}{
		{name: "good", in: goodIdentity},
		{name: "good with newline", in: goodIdentity + "\n"},
		{name: "empty", in: "", err: ErrIdentityEmpty},
		{name: "blank", in: " \n\t", err: ErrIdentityEmpty},
		{name: "truncated", in: goodIdentity[:40], err: ErrIdentityCorrupt, msg: "truncated"},
		{name: "not json", in: "uuid=3f2a9c1e", err: ErrIdentityCorrupt},
		{name: "array", in: "[]", err: ErrIdentityCorrupt},
		{name: "null", in: "null", err: ErrIdentityCorrupt, msg: "no format version"},
		{name: "trailing", in: goodIdentity + "{}", err: ErrIdentityCorrupt, msg: "trailing"},
		{name: "unknown field", in: `{"version":1,"uuid":"3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b","created":"2026-11-21T10:00:00Z","x":1}`, err: ErrIdentityCorrupt},
		{name: "no version", in: `{"uuid":"3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b","created":"2026-11-21T10:00:00Z"}`, err: ErrIdentityCorrupt, msg: "version"},
		{name: "newer version", in: `{"version":2,"uuid":"3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b","created":"2026-11-21T10:00:00Z"}`, err: ErrIdentityVersion},
		{name: "short uuid", in: `{"version":1,"uuid":"3f2a9c1e","created":"2026-11-21T10:00:00Z"}`, err: ErrMalformedUUID, msg: "8 characters"},
		{name: "uuid not hex", in: `{"version":1,"uuid":"zf2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b","created":"2026-11-21T10:00:00Z"}`, err: ErrIdentityCorrupt},
		{name: "no uuid", in: `{"version":1,"created":"2026-11-21T10:00:00Z"}`, err: ErrMalformedUUID},
		{name: "uuid is a number", in: `{"version":1,"uuid":3,"created":"2026-11-21T10:00:00Z"}`, err: ErrIdentityCorrupt},
		{name: "no created", in: `{"version":1,"uuid":"3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b"}`, err: ErrIdentityCorrupt, msg: "creation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseIdentity([]byte(tt.in))
			if tt.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if id.UUID != "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b" || id.Name != "disk1" || !id.Created.Equal(testTime) {
					t.Errorf("parsed %+v", id)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func TestIdentity_marshalRoundTrip(t *testing.T) {
	id := Identity{Version: FormatVersion, UUID: "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", Name: "d", Created: testTime}
	got, err := ParseIdentity(id.Marshal())
	if err != nil || got != id {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, id)
	}
}

func TestReadIdentity_errorsNameTheFile(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name  string
		setup func(dir string)
		err   error
	}{
		{"missing", func(string) {}, ErrIdentityMissing},
		{"empty", func(dir string) { writeFile(t, filepath.Join(dir, IdentityFile), "") }, ErrIdentityEmpty},
		{"truncated", func(dir string) { writeFile(t, filepath.Join(dir, IdentityFile), goodIdentity[:50]) }, ErrIdentityCorrupt},
		{"symlink", func(dir string) {
			other := filepath.Join(root, "elsewhere.json")
			writeFile(t, other, goodIdentity)
			if err := os.Symlink(other, filepath.Join(dir, IdentityFile)); err != nil {
				t.Fatal(err)
			}
		}, ErrNotRegular},
		{"directory", func(dir string) {
			if err := os.Mkdir(filepath.Join(dir, IdentityFile), 0o755); err != nil {
				t.Fatal(err)
			}
		}, ErrNotRegular},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newDisk(t, root, tt.name, "")
			tt.setup(dir)
			_, err := ReadIdentity(dir)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, IdentityFile)) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := ReadIdentity(filepath.Join(root, "nope")); !errors.Is(err, ErrDiskMissing) {
		t.Errorf("missing directory: %v, want ErrDiskMissing", err)
	}
}

func TestCreateIdentity_exactlyOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first := Identity{Version: FormatVersion, UUID: "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", Name: "d", Created: testTime}
	if err := CreateIdentity(ctx, dir, first); err != nil {
		t.Fatal(err)
	}
	second := first
	second.UUID = "4f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b"
	if err := CreateIdentity(ctx, dir, second); !errors.Is(err, ErrIdentityExists) {
		t.Fatalf("second create: %v, want ErrIdentityExists", err)
	}
	// Even a damaged file is not replaced by a create.
	writeFile(t, filepath.Join(dir, IdentityFile), "")
	if err := CreateIdentity(ctx, dir, second); !errors.Is(err, ErrIdentityExists) {
		t.Fatalf("create over an empty file: %v, want ErrIdentityExists", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, IdentityFile)); len(data) != 0 {
		t.Errorf("empty file was replaced with %q", data)
	}
	// An invalid identity is never written.
	bad := first
	bad.UUID = "short"
	if err := CreateIdentity(ctx, t.TempDir(), bad); !errors.Is(err, ErrMalformedUUID) {
		t.Errorf("create with a short UUID: %v", err)
	}
	assertNoTemps(t, dir)
}

func TestReplaceIdentity_compareAndSwap(t *testing.T) {
	ctx := context.Background()
	dir := newDisk(t, t.TempDir(), "d", "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b")
	next := Identity{Version: FormatVersion, UUID: "5b2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", Name: "d", Created: testTime}
	if err := ReplaceIdentity(ctx, dir, "aaaa9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", next); !errors.Is(err, ErrIdentityChanged) {
		t.Fatalf("replace with a wrong old UUID: %v, want ErrIdentityChanged", err)
	}
	if err := ReplaceIdentity(ctx, dir, "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", next); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadIdentity(dir); err != nil || got.UUID != next.UUID {
		t.Fatalf("after replace: %+v, %v", got, err)
	}
	assertNoTemps(t, dir)
}

func TestLock_secondWriterWaits(t *testing.T) {
	dir := newDisk(t, t.TempDir(), "d", "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b")
	holder, err := openDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	next := Identity{Version: FormatVersion, UUID: "5b2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", Name: "d", Created: testTime}
	err = ReplaceIdentity(ctx, dir, "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", next)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("replace while locked: %v, want ErrLocked", err)
	}
	holder.close() // releases the lock
	if err := ReplaceIdentity(context.Background(), dir, "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", next); err != nil {
		t.Fatalf("replace after unlock: %v", err)
	}
}

func TestWithLockedDir_removesStaleTemps(t *testing.T) {
	dir := newDisk(t, t.TempDir(), "d", "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b")
	stale := filepath.Join(dir, IdentityFile+tempSuffix+"deadbeef")
	writeFile(t, stale, goodIdentity[:10])
	other := filepath.Join(dir, "data.img")
	writeFile(t, other, "x")
	if err := withLockedDir(context.Background(), dir, IdentityFile, func(*dirHandle) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("unrelated file removed: %v", err)
	}
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*"+tempSuffix+"*"))
	if len(names) > 0 {
		t.Errorf("temporary files left behind: %v", names)
	}
}

func FuzzParseIdentity(f *testing.F) {
	f.Add([]byte(goodIdentity))
	f.Add([]byte(""))
	f.Add([]byte(goodIdentity[:30]))
	f.Add([]byte(`{"version":1,"uuid":"3f2a","created":"2026-11-21T10:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := ParseIdentity(data)
		if err != nil {
			if id != (Identity{}) {
				t.Fatalf("error %v with a non-zero identity %+v", err, id)
			}
			return
		}
		// Anything accepted has a canonical UUID and survives a round trip.
		if _, err := ParseDiskUUID(string(id.UUID)); err != nil || strings.ToLower(string(id.UUID)) != string(id.UUID) {
			t.Fatalf("accepted UUID %q: %v", id.UUID, err)
		}
		again, err := ParseIdentity(id.Marshal())
		if err != nil || again.UUID != id.UUID || again.Name != id.Name || !again.Created.Equal(id.Created) {
			t.Fatalf("round trip of %+v: %+v, %v", id, again, err)
		}
	})
}

func TestParseDiskUUID(t *testing.T) {
	tests := []struct {
		in   string
		want DiskUUID
		err  error
	}{
		{in: "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", want: "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b"},
		{in: "3F2A9C1E-0B7D-4E5F-9A8B-1C2D3E4F5A6B", want: "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b"},
		{in: "", err: ErrMalformedUUID},
		{in: "3f2a", err: ErrMalformedUUID},
		{in: "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6", err: ErrMalformedUUID},
		{in: "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6bb", err: ErrMalformedUUID},
		{in: "3f2a9c1e00b7d-4e5f-9a8b-1c2d3e4f5a6b", err: ErrMalformedUUID},
		{in: "3f2a9c1g-0b7d-4e5f-9a8b-1c2d3e4f5a6b", err: ErrMalformedUUID},
		{in: "{f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", err: ErrMalformedUUID},
		{in: "00000000-0000-0000-0000-000000000000", err: ErrMalformedUUID},
	}
	for _, tt := range tests {
		got, err := ParseDiskUUID(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseDiskUUID(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestDiskUUID_Prefix(t *testing.T) {
	u := DiskUUID("3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b")
	tests := []struct {
		n    int
		want string
	}{
		{0, "3"}, {1, "3"}, {4, "3f2a"}, {8, "3f2a9c1e"}, {10, "3f2a9c1e0b"},
		{16, "3f2a9c1e0b7d4e5f"}, {32, "3f2a9c1e0b7d4e5f9a8b1c2d3e4f5a6b"}, {40, "3f2a9c1e0b7d4e5f9a8b1c2d3e4f5a6b"},
	}
	for _, tt := range tests {
		if got := u.Prefix(tt.n); got != tt.want {
			t.Errorf("Prefix(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFromLvstore(t *testing.T) {
	got, err := FromLvstore(spdkrpc.LvstoreUUID("A4F5E2C8-6D3B-4F1A-9E7C-2B8D0F1E3A5C"))
	if err != nil || got != "a4f5e2c8-6d3b-4f1a-9e7c-2b8d0f1e3a5c" {
		t.Errorf("FromLvstore = %q, %v", got, err)
	}
	if _, err := FromLvstore("lvs0"); !errors.Is(err, ErrMalformedUUID) {
		t.Errorf("FromLvstore(name) error = %v, want ErrMalformedUUID", err)
	}
}
