package diskid

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// DiskUUID is the identity of a disk: the UUID in a filesystem disk's
// identity file, or the UUID of an lvstore. It is its own type so that a disk
// name or path is never compared with it (design invariant 1). Values made
// by ParseDiskUUID are canonical: lowercase, hyphenated, 36 characters.
type DiskUUID string

// uuidLen is the length of the canonical textual form.
const uuidLen = 36

// ParseDiskUUID checks that s is a canonical UUID and returns it in
// lowercase. It is strict on purpose: a short or otherwise malformed UUID in
// an identity file means the file is damaged, and a shorter string would
// also have a shorter (colliding) prefix.
func ParseDiskUUID(s string) (DiskUUID, error) {
	if len(s) != uuidLen {
		return "", fmt.Errorf("%w: %q has %d characters, want %d", ErrMalformedUUID, s, len(s), uuidLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return "", fmt.Errorf("%w: %q: want '-' at offset %d, found %q", ErrMalformedUUID, s, i, c)
			}
			continue
		}
		if !isHex(c) {
			return "", fmt.Errorf("%w: %q: %q at offset %d is not a hex digit", ErrMalformedUUID, s, c, i)
		}
	}
	u := strings.ToLower(s)
	if u == uuid.Nil.String() {
		return "", fmt.Errorf("%w: the nil UUID is not an identity", ErrMalformedUUID)
	}
	return DiskUUID(u), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// FromLvstore converts an lvstore's UUID into the disk identity it stands
// for. The conversion is explicit because the two are different kinds of
// value that happen to share a representation.
func FromLvstore(u spdkrpc.LvstoreUUID) (DiskUUID, error) {
	d, err := ParseDiskUUID(string(u))
	if err != nil {
		return "", fmt.Errorf("lvstore UUID: %w", err)
	}
	return d, nil
}

// Prefix returns the first n hex digits of u, skipping hyphens, so that a
// prefix longer than 8 still counts only hex digits. n is clamped to [1, 32].
func (u DiskUUID) Prefix(n int) string {
	n = clampPrefixLen(n)
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < len(u) && b.Len() < n; i++ {
		if u[i] != '-' {
			b.WriteByte(u[i])
		}
	}
	return b.String()
}

func clampPrefixLen(n int) int {
	return min(max(n, 1), 32)
}

// newRandomUUID returns a fresh version 4 UUID from rnd (crypto/rand when
// nil). rnd exists so that tests can force collisions.
func newRandomUUID(rnd func() (uuid.UUID, error)) (DiskUUID, error) {
	if rnd == nil {
		rnd = uuid.NewRandom
	}
	u, err := rnd()
	if err != nil {
		return "", fmt.Errorf("generate disk UUID: %w", err)
	}
	return ParseDiskUUID(u.String())
}
