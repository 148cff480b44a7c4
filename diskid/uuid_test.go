package diskid

import (
	"errors"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

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
