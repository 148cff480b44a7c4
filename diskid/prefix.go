package diskid

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/google/uuid"
)

// DefaultPrefixLen is the number of hex digits of a disk UUID that other
// components put into names. Four digits give 65,536 prefixes.
const DefaultPrefixLen = 4

// DefaultMaxAttempts bounds how many random UUIDs are tried for a new disk.
// With a prefix space f full, all attempts fail with probability f^attempts:
// at 64 attempts that is about 1e-3 when 90% of the space is taken, so
// failing means the space is nearly full, not bad luck.
const DefaultMaxAttempts = 64

// prefixSpace returns 16^n, the number of distinct prefixes of n digits.
func prefixSpace(n int) float64 {
	return math.Pow(16, float64(clampPrefixLen(n)))
}

// uniqueUUID returns a random UUID whose n-digit prefix is not in taken,
// trying at most attempts times. When it gives up, the error says how full
// the prefix space is and suggests a longer prefix.
func uniqueUUID(taken map[string]bool, n, attempts int, rnd func() (uuid.UUID, error)) (DiskUUID, error) {
	n = clampPrefixLen(n)
	space := prefixSpace(n)
	if float64(len(taken)) < space {
		for range max(attempts, 1) {
			u, err := newRandomUUID(rnd)
			if err != nil {
				return "", err
			}
			if !taken[u.Prefix(n)] {
				return u, nil
			}
		}
	}
	return "", fmt.Errorf("%w: no free %d-digit prefix in %d attempts; %d of %.0f prefixes (%.1f%%) are taken: use a longer prefix (e.g. %d)",
		ErrPrefixSpaceFull, n, attempts, len(taken), space, 100*float64(len(taken))/space, n+2)
}

// SimulateFirstRetry adds disks with uniformly random UUIDs one by one until
// a new disk's n-digit prefix is already taken, i.e. until creating a disk
// needs a retry, and returns how many disks were added before that one, as
// the mean over trials runs. The birthday bound predicts about
// sqrt(pi*16^n/2): 321 for n = 4.
func SimulateFirstRetry(rng *rand.Rand, n, trials int) float64 {
	n = clampPrefixLen(n)
	space := uint64(prefixSpace(n))
	if n >= 16 {
		space = math.MaxUint64
	}
	var total float64
	seen := make(map[uint64]struct{})
	for range trials {
		clear(seen)
		for {
			p := rng.Uint64N(space)
			if _, dup := seen[p]; dup {
				break
			}
			seen[p] = struct{}{}
		}
		total += float64(len(seen))
	}
	return total / float64(trials)
}

// ExpectedFirstRetry is the birthday-bound estimate sqrt(pi*N/2) of
// SimulateFirstRetry for a prefix of n digits.
func ExpectedFirstRetry(n int) float64 {
	return math.Sqrt(math.Pi * prefixSpace(n) / 2)
}
