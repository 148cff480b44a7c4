package diskid

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

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
		// A small space that is nearly full defeats random tries, yet a
		// free prefix is certain to exist: pick one of the free ones.
		if n <= maxEnumeratedPrefixLen {
			return pickFreePrefix(taken, n, rnd)
		}
	}
	return "", spaceFull(taken, n, attempts)
}

// spaceFull says how full the prefix space is and suggests a longer prefix.
func spaceFull(taken map[string]bool, n, attempts int) error {
	space := prefixSpace(n)
	return fmt.Errorf("%w: no free %d-digit prefix in %d attempts; %d of %.0f prefixes (%.1f%%) are taken: use a longer prefix (e.g. %d)",
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

// claim is one disk in the collision domain: a local filesystem disk, a
// local lvstore, or a registry entry of another node.
type claim struct {
	key     string // unique: "path:/dir", "lvstore:name" or "registry:node/disk/uuid"
	label   string // for people: the path, lvstore or node/disk
	uuid    DiskUUID
	local   bool
	fixed   bool // its UUID cannot change (an lvstore)
	inUse   bool
	created time.Time
}

func (c claim) String() string {
	return fmt.Sprintf("%s (%s)", c.uuid, c.label)
}

// verdict is what a local claim must do about its collisions.
type verdict struct {
	// yield: the claim must change its UUID (or report that it cannot).
	yield bool
	// with are the claims sharing its prefix.
	with []claim
	// remote: at least one of them is another node's disk.
	remote bool
}

// decideCollisions groups claims by prefix and decides, for every local claim
// in a group of two or more, whether it yields. The rules are deterministic
// for a given set of claims:
//
//   - a registry entry never yields: the agent only changes its own disks,
//     and another node's agent decides about that node's disks; so when a
//     remote disk shares the prefix, every local disk in the group yields;
//   - among local disks only, one keeps its UUID: an lvstore first (SPDK owns
//     its UUID), then a disk in use, then the oldest identity, then the
//     smallest key (path or lvstore name); all others yield.
//
// Groups of remote entries only are other nodes' business and are ignored.
func decideCollisions(claims []claim, prefixLen int) map[string]verdict {
	groups := make(map[string][]claim)
	for _, c := range claims {
		p := c.uuid.Prefix(prefixLen)
		groups[p] = append(groups[p], c)
	}
	out := make(map[string]verdict)
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		var locals []claim
		remote := false
		for _, c := range g {
			if c.local {
				locals = append(locals, c)
			} else {
				remote = true
			}
		}
		if len(locals) == 0 {
			continue
		}
		slices.SortFunc(locals, keepOrder)
		for i, c := range locals {
			others := slices.DeleteFunc(slices.Clone(g), func(o claim) bool { return o.key == c.key })
			slices.SortFunc(others, func(a, b claim) int { return strings.Compare(a.key, b.key) })
			out[c.key] = verdict{yield: remote || i > 0, with: others, remote: remote}
		}
	}
	return out
}

// keepOrder sorts the local claim that keeps its UUID first.
func keepOrder(a, b claim) int {
	if a.fixed != b.fixed {
		return boolFirst(a.fixed)
	}
	if a.inUse != b.inUse {
		return boolFirst(a.inUse)
	}
	if c := a.created.Compare(b.created); c != 0 {
		return c
	}
	return cmp.Compare(a.key, b.key)
}

func boolFirst(aTrue bool) int {
	if aTrue {
		return -1
	}
	return 1
}

// describe lists claims for a condition message.
func describe(cs []claim) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}

// maxEnumeratedPrefixLen is the longest prefix whose free values
// pickFreePrefix lists (16^4 = 65,536 of them at most).
const maxEnumeratedPrefixLen = 4

// pickFreePrefix returns a random UUID whose first n digits are replaced by
// a free prefix chosen at random. The first 8 digits of a version 4 UUID
// are random bits, so the result is still a valid random UUID.
func pickFreePrefix(taken map[string]bool, n int, rnd func() (uuid.UUID, error)) (DiskUUID, error) {
	u, err := newRandomUUID(rnd)
	if err != nil {
		return "", err
	}
	var free []string
	for i := range 1 << (4 * n) {
		p := fmt.Sprintf("%0*x", n, i)
		if !taken[p] {
			free = append(free, p)
		}
	}
	if len(free) == 0 {
		return "", spaceFull(taken, n, 1<<(4*n))
	}
	// The UUID's own random digits choose among the free prefixes.
	var idx uint64
	for _, c := range []byte(u[n : n+8]) {
		if c != '-' {
			idx = idx<<4 | uint64(hexVal(c))
		}
	}
	return DiskUUID(free[idx%uint64(len(free))] + string(u[n:])), nil
}

func hexVal(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
