package lvolgraph

import (
	"slices"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func TestDefaultOwnership_Owners(t *testing.T) {
	rn := DefaultOwnership.(ReplicaNames)
	tests := []struct {
		name string
		want []string
	}{
		{"r-1", nil},
		{"r-1-rebuilding", nil},
		{"r-1-snap-x-rebuilding", nil},
		{"r-1-snap-a", []string{"r-1"}},
		{"r-10-snap-a", []string{"r-10"}},
		{"pvc-abc-r-1-snap-x", []string{"pvc-abc-r-1"}},
		{"a-snap-b-snap-c", []string{"a-snap-b", "a"}},
		{"r-5-expired-9f3a", []string{"r-5"}},
		{"r-5-expired-zz", nil},
		{"r-5-snap-", nil},
		{"-snap-a", nil},
		{"r-2-clone-ep-s1", []string{"r-2"}},
		{"bi-ubuntu-disk-6d1aadc9", nil},
	}
	for _, tt := range tests {
		if got := rn.Owners(spdkrpc.LvolName(tt.name)); !slices.Equal(got, tt.want) {
			t.Errorf("Owners(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// ownsOnly is an ownership scheme that cannot derive owners from names.
type ownsOnly struct{ Ownership }

func TestGraph_Orphans(t *testing.T) {
	s := newScene()
	s.add("lvs0", "r-1", false, "")
	s.add("lvs0", "r-1-snap-a", true, "")
	s.add("lvs0", "r-10-snap-a", true, "") // r-1 does not own it; no r-10
	s.add("lvs0", "pvc-abc-r-1", false, "")
	s.add("lvs0", "pvc-abc-r-1-snap-x", true, "")
	s.add("lvs0", "pvc-abc-r-2-snap-x", true, "")
	s.add("lvs0", "a", false, "")
	s.add("lvs0", "a-snap-b-snap-c", true, "") // a's snapshot b-snap-c
	s.add("lvs0", "q-snap-b-snap-c", true, "") // neither q nor q-snap-b
	s.add("lvs0", "r-5-expired-9f3a", false, "")
	s.add("lvs0", "r-5-expired-zz", false, "") // a head by its form
	s.add("lvs0", "r-6-rebuilding", false, "")
	s.add("lvs0", "r-6-snap-s", true, "")
	s.add("lvs0", "r-7-snap-base", true, "")
	s.add("lvs0", "r-8", false, "r-7-snap-base") // another replica reads from it
	s.add("lvs0", "r-9-snap-a", true, "")
	s.add("lvs0", "r-9-snap-b", true, "r-9-snap-a") // a chain left behind whole
	s.add("lvs0", "r-9-clone-ep-b", false, "r-9-snap-b")
	s.add("lvs0", "bi-img-disk-1234", true, "")
	e := s.add("lvs0", "r-11-snap-e", false, "")
	s.esnap("lvs1", "r-12", spdkrpc.BdevUUID(e.uuid))
	s.add("lvs1", "r-1-snap-z", true, "") // r-1's head is in another lvstore
	g := s.graph()

	names := func(ls []*Lvol) []string {
		var out []string
		for _, l := range ls {
			out = append(out, string(l.Name))
		}
		return out
	}
	for _, tt := range []struct {
		lvs  string
		own  Ownership
		want []string
	}{
		{"lvs0", DefaultOwnership, []string{"pvc-abc-r-2-snap-x", "q-snap-b-snap-c", "r-10-snap-a", "r-5-expired-9f3a", "r-9-clone-ep-b", "r-9-snap-a", "r-9-snap-b"}},
		{"lvs1", DefaultOwnership, []string{"r-1-snap-z"}},
		{"lvs0", ownsOnly{DefaultOwnership}, nil},
	} {
		st, _ := g.Lvstore(NameRef(tt.lvs))
		if got := names(g.Orphans(st.UUID, tt.own)); !slices.Equal(got, tt.want) {
			t.Errorf("Orphans(%s, %T) = %q, want %q", tt.lvs, tt.own, got, tt.want)
		}
	}
}
