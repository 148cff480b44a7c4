package diskid

import (
	"slices"
	"testing"
	"time"
)

func TestDecideCollisions(t *testing.T) {
	old, young := testTime, testTime.Add(time.Hour)
	local := func(key, u string, inUse bool, created time.Time) claim {
		return claim{key: key, label: key, uuid: DiskUUID(u), local: true, inUse: inUse, created: created}
	}
	lvs := func(key, u string) claim {
		return claim{key: key, label: key, uuid: DiskUUID(u), local: true, fixed: true, inUse: true}
	}
	remote := func(key, u string) claim { return claim{key: key, label: key, uuid: DiskUUID(u)} }
	tests := []struct {
		name   string
		claims []claim
		yield  []string // keys that must yield
		keep   []string // keys in a collision that keep their UUID
	}{
		{name: "no collision",
			claims: []claim{local("a", "aaaa0000-0000-4000-8000-000000000001", false, old), remote("r", "bbbb0000-0000-4000-8000-000000000001")}},
		{name: "local yields to remote, even if older and in use",
			claims: []claim{local("a", "aaaa0000-0000-4000-8000-000000000001", true, old), remote("r", "aaaa1111-0000-4000-8000-000000000001")},
			yield:  []string{"a"}},
		{name: "remote-only groups are other nodes' business",
			claims: []claim{remote("r1", "aaaa0000-0000-4000-8000-000000000001"), remote("r2", "aaaa1111-0000-4000-8000-000000000001")}},
		{name: "two locals: the younger yields",
			claims: []claim{local("b", "aaaa0000-0000-4000-8000-000000000001", false, young), local("a", "aaaa1111-0000-4000-8000-000000000001", false, old)},
			yield:  []string{"b"}, keep: []string{"a"}},
		{name: "two locals: the unused yields even if older",
			claims: []claim{local("a", "aaaa0000-0000-4000-8000-000000000001", false, old), local("b", "aaaa1111-0000-4000-8000-000000000001", true, young)},
			yield:  []string{"a"}, keep: []string{"b"}},
		{name: "two locals of the same age: the larger key yields",
			claims: []claim{local("b", "aaaa0000-0000-4000-8000-000000000001", false, old), local("a", "aaaa1111-0000-4000-8000-000000000001", false, old)},
			yield:  []string{"b"}, keep: []string{"a"}},
		{name: "an lvstore keeps its UUID against a filesystem disk",
			claims: []claim{local("a", "aaaa0000-0000-4000-8000-000000000001", true, old), lvs("lvs", "aaaa1111-0000-4000-8000-000000000001")},
			yield:  []string{"a"}, keep: []string{"lvs"}},
		{name: "an lvstore yields to a remote disk (reported, cannot change)",
			claims: []claim{lvs("lvs", "aaaa1111-0000-4000-8000-000000000001"), remote("r", "aaaa0000-0000-4000-8000-000000000001")},
			yield:  []string{"lvs"}},
		{name: "three locals",
			claims: []claim{local("c", "aaaa0000-0000-4000-8000-000000000003", false, old), local("b", "aaaa0000-0000-4000-8000-000000000002", false, old), local("a", "aaaa0000-0000-4000-8000-000000000001", false, old)},
			yield:  []string{"b", "c"}, keep: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Decisions must not depend on input order.
			for _, claims := range [][]claim{tt.claims, reversed(tt.claims)} {
				v := decideCollisions(claims, 4)
				var yield, keep []string
				for k, vv := range v {
					if vv.yield {
						yield = append(yield, k)
					} else {
						keep = append(keep, k)
					}
					if len(vv.with) == 0 {
						t.Errorf("%s: verdict without the other claims", k)
					}
				}
				slices.Sort(yield)
				slices.Sort(keep)
				if !slices.Equal(yield, tt.yield) || !slices.Equal(keep, tt.keep) {
					t.Errorf("yield %v keep %v; want yield %v keep %v", yield, keep, tt.yield, tt.keep)
				}
			}
		})
	}
}

func reversed[T any](s []T) []T {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
