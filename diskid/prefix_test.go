package diskid

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUniqueUUID_retriesPastTakenPrefixes(t *testing.T) {
	taken := map[string]bool{"aaaa": true, "bbbb": true}
	rnd := uuidQueue("aaaa0000-0000-4000-8000-000000000001", "bbbb0000-0000-4000-8000-000000000002", "cccc0000-0000-4000-8000-000000000003")
	u, err := uniqueUUID(taken, 4, 8, rnd)
	if err != nil || u != "cccc0000-0000-4000-8000-000000000003" {
		t.Fatalf("uniqueUUID = %q, %v; want the third candidate", u, err)
	}
}

func TestUniqueUUID_nearlyFullSmallSpacePicksTheFreePrefix(t *testing.T) {
	// One digit: 16 prefixes, 15 taken, and the source keeps offering a
	// taken one: random tries fail, but the one free prefix exists.
	taken := map[string]bool{}
	for _, c := range "0123456789abcde" {
		taken[string(c)] = true
	}
	same := make([]string, 11)
	for i := range same {
		same[i] = "a0000000-0000-4000-8000-000000000000"
	}
	u, err := uniqueUUID(taken, 1, len(same)-1, uuidQueue(same...))
	if err != nil || u.Prefix(1) != "f" {
		t.Fatalf("uniqueUUID = %q, %v; want prefix f", u, err)
	}
	if _, err := ParseDiskUUID(string(u)); err != nil {
		t.Fatal(err)
	}
	taken["f"] = true
	_, err = uniqueUUID(taken, 1, 1000, nil)
	if !errors.Is(err, ErrPrefixSpaceFull) {
		t.Fatalf("completely full space: %v", err)
	}
	for _, want := range []string{"16 of 16", "100.0%", "longer prefix", "(e.g. 3)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestSimulateFirstRetry checks the simulation against the birthday bound:
// with 4 digits a new disk first needs a retry after about 321 disks.
// The seed is fixed, so this measures, it does not gamble.
func TestSimulateFirstRetry(t *testing.T) {
	trials := 4000
	if testing.Short() {
		trials = 500
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 4} {
		got, want := SimulateFirstRetry(rng, n, trials), ExpectedFirstRetry(n)
		// The first-collision count has a standard deviation of about
		// 0.52*sqrt(N); the mean over trials is within 10% by far.
		if got < 0.9*want || got > 1.1*want {
			t.Errorf("%d digits: mean disks before the first retry = %.1f, birthday bound %.1f", n, got, want)
		}
		t.Logf("%d digits: mean disks before the first retry = %.1f over %d trials (birthday bound sqrt(pi*N/2) = %.1f)", n, got, trials, want)
	}
}

func BenchmarkSimulateFirstRetry4(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	var sum float64
	for b.Loop() {
		sum += SimulateFirstRetry(rng, 4, 1)
	}
	b.ReportMetric(sum/float64(b.N), "disks/first-retry")
	b.ReportMetric(ExpectedFirstRetry(4), "birthday-bound")
}

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
