package diskid

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestFileFormats pins the on-disk formats: identity files outlive agent
// versions, and the registry is written by another program. A change here
// is a format change and needs a version bump, not an -update.
func TestFileFormats(t *testing.T) {
	tests := []struct {
		golden string
		got    []byte
		parse  func([]byte) error
	}{
		{"identity.golden.json",
			Identity{Version: FormatVersion, UUID: "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", Name: "nvme0", Created: testTime}.Marshal(),
			func(b []byte) error { _, err := ParseIdentity(b); return err }},
		{"registry.golden.json",
			Registry{Disks: []RegistryEntry{
				{UUID: "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", Node: "node-1", Disk: "nvme0"},
				{UUID: "8c41d2e0-5a6b-4c7d-8e9f-0a1b2c3d4e5f", Node: "node-2", Disk: "nvme0"},
			}}.Marshal(),
			func(b []byte) error { _, err := ParseRegistry(b); return err }},
	}
	for _, tt := range tests {
		path := filepath.Join("testdata", tt.golden)
		if *update {
			if err := os.WriteFile(path, tt.got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tt.got, want) {
			t.Errorf("%s changed:\n got: %s\nwant: %s", tt.golden, tt.got, want)
		}
		if err := tt.parse(want); err != nil {
			t.Errorf("%s does not parse: %v", tt.golden, err)
		}
	}
}
