package diskid

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// regJSON builds a registry file listing the given UUIDs on node n, disks
// named d0, d1, ...
func regJSON(node string, uuids ...string) string {
	parts := make([]string, len(uuids))
	for i, u := range uuids {
		parts[i] = fmt.Sprintf(`{"uuid":%q,"node":%q,"disk":"d%d"}`, u, node, i)
	}
	return `{"disks":[` + strings.Join(parts, ",") + "]}"
}

func TestParseRegistry(t *testing.T) {
	const u1, u2 = "11112222-0b7d-4e5f-9a8b-1c2d3e4f5a6b", "33334444-0b7d-4e5f-9a8b-1c2d3e4f5a6b"
	tests := []struct {
		name, in string
		want     int
		err      error
		msg      string
	}{
		{name: "good", in: regJSON("n1", u1, u2), want: 2},
		{name: "duplicate entry kept once", in: `{"disks":[{"uuid":"` + u1 + `","node":"n","disk":"a"},{"uuid":"` + u1 + `","node":"n","disk":"a"}]}`, want: 1},
		{name: "same uuid two disks", in: `{"disks":[{"uuid":"` + u1 + `","node":"n","disk":"a"},{"uuid":"` + u1 + `","node":"m","disk":"a"}]}`, want: 2},
		{name: "empty file", in: "", err: ErrRegistryEmpty},
		{name: "no disks", in: `{"disks":[]}`, err: ErrRegistryEmpty},
		{name: "empty object", in: `{}`, err: ErrRegistryEmpty},
		{name: "truncated", in: regJSON("n1", u1, u2)[:60], err: ErrRegistryInvalid},
		{name: "unknown field", in: `{"disk":[]}`, err: ErrRegistryInvalid},
		{name: "trailing", in: regJSON("n1", u1) + "x", err: ErrRegistryInvalid},
		{name: "short uuid", in: regJSON("n1", u1, "3333"), err: ErrMalformedUUID, msg: "disks[1]"},
		{name: "no node", in: `{"disks":[{"uuid":"` + u1 + `","disk":"a"}]}`, err: ErrRegistryInvalid, msg: "node and disk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := ParseRegistry([]byte(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if len(reg.Disks) != tt.want {
				t.Errorf("got %d disks, want %d", len(reg.Disks), tt.want)
			}
		})
	}
}

func TestCheckPlausible(t *testing.T) {
	mk := func(n int) Registry {
		var r Registry
		for i := range n {
			r.Disks = append(r.Disks, RegistryEntry{UUID: DiskUUID(fmt.Sprintf("%08x-0b7d-4e5f-9a8b-1c2d3e4f5a6b", i+1)), Node: "n", Disk: fmt.Sprint(i)})
		}
		return r
	}
	tests := []struct {
		name       string
		prev, next Registry
		maxDrop    float64
		ok         bool
	}{
		{"first registry", Registry{}, mk(3), 0.5, true},
		{"growth", mk(3), mk(10), 0.5, true},
		{"one disk leaves a pair", mk(2), mk(1), 0.5, true},
		{"half leave", mk(10), mk(5), 0.5, true},
		{"most leave", mk(10), mk(4), 0.5, false},
		{"all but one leave", mk(100), mk(1), 0.5, false},
		{"most leave, check off", mk(10), mk(1), 1, true},
		{"strict threshold", mk(10), mk(8), 0.1, false},
	}
	for _, tt := range tests {
		err := checkPlausible(tt.prev, tt.next, tt.maxDrop)
		if (err == nil) != tt.ok {
			t.Errorf("%s: error = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrRegistryImplausible) {
			t.Errorf("%s: error %v is not ErrRegistryImplausible", tt.name, err)
		}
	}
}

func FuzzParseRegistry(f *testing.F) {
	f.Add([]byte(regJSON("n1", "11112222-0b7d-4e5f-9a8b-1c2d3e4f5a6b")))
	f.Add([]byte(`{"disks":[]}`))
	f.Add([]byte(`{"disks":[{"uuid":"1111","node":"n","disk":"d"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := ParseRegistry(data)
		if err != nil {
			return
		}
		if len(reg.Disks) == 0 {
			t.Fatal("accepted a registry with no disks")
		}
		for _, e := range reg.Disks {
			if _, err := ParseDiskUUID(string(e.UUID)); err != nil || e.Node == "" || e.Disk == "" {
				t.Fatalf("accepted entry %+v: %v", e, err)
			}
		}
		again, err := ParseRegistry(reg.Marshal())
		if err != nil || len(again.Disks) != len(reg.Disks) {
			t.Fatalf("round trip: %d disks, %v; want %d", len(again.Disks), err, len(reg.Disks))
		}
	})
}
