package diskid

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestUniqueUUID_retriesPastTakenPrefixes(t *testing.T) {
	taken := map[string]bool{"aaaa": true, "bbbb": true}
	rnd := uuidQueue("aaaa0000-0000-4000-8000-000000000001", "bbbb0000-0000-4000-8000-000000000002", "cccc0000-0000-4000-8000-000000000003")
	u, err := uniqueUUID(taken, 4, 8, rnd)
	if err != nil || u != "cccc0000-0000-4000-8000-000000000003" {
		t.Fatalf("uniqueUUID = %q, %v; want the third candidate", u, err)
	}
}

func TestUniqueUUID_fullSpaceSuggestsLongerPrefix(t *testing.T) {
	// One digit: 16 prefixes, 15 taken, and the source keeps offering one.
	taken := map[string]bool{}
	for _, c := range "0123456789abcde" {
		taken[string(c)] = true
	}
	same := make([]string, 10)
	for i := range same {
		same[i] = "a0000000-0000-4000-8000-000000000000"
	}
	_, err := uniqueUUID(taken, 1, len(same), uuidQueue(same...))
	if !errors.Is(err, ErrPrefixSpaceFull) {
		t.Fatalf("error = %v, want ErrPrefixSpaceFull", err)
	}
	for _, want := range []string{"15 of 16", "93.8%", "longer prefix", "(e.g. 3)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	taken["f"] = true
	if _, err := uniqueUUID(taken, 1, 1000, nil); !errors.Is(err, ErrPrefixSpaceFull) {
		t.Errorf("completely full space: %v", err)
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
