package diskid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// IdentityFile is the name of the identity file in a filesystem disk's
// directory.
const IdentityFile = "spdk-disk-identity.json"

// FormatVersion is the identity file format this package writes and reads.
const FormatVersion = 1

// Identity is what a filesystem disk's identity file holds.
type Identity struct {
	Version int       `json:"version"`
	UUID    DiskUUID  `json:"uuid"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// ClaimPending is set while the disk's prefix is being claimed in the
	// cluster: a pending disk is not used, and the next Check finishes the
	// claim (see Manager.claimIn). Absent in files written outside a cluster.
	ClaimPending bool `json:"claim_pending,omitempty"`
	// Previous is, while ClaimPending, the identity this one replaces, whose
	// claim is released before the pending mark is cleared.
	Previous DiskUUID `json:"previous,omitempty"`
}

// identityJSON mirrors Identity with the UUID as a plain string, so that
// parsing can say which field is wrong instead of failing inside a decoder.
type identityJSON struct {
	Version int       `json:"version"`
	UUID    string    `json:"uuid"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Pending bool      `json:"claim_pending"`
	Prev    string    `json:"previous"`
}

// ParseIdentity parses the content of an identity file. It is strict: an
// empty, truncated or unparsable file, unknown fields, trailing data, a
// missing field or a malformed UUID are errors (ErrIdentityEmpty,
// ErrIdentityCorrupt, ErrIdentityVersion), because a damaged identity must be
// looked at by an operator and never silently replaced.
func ParseIdentity(data []byte) (Identity, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Identity{}, fmt.Errorf("%w (%d bytes)", ErrIdentityEmpty, len(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw identityJSON
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Identity{}, fmt.Errorf("%w: truncated after %d bytes", ErrIdentityCorrupt, len(data))
		}
		return Identity{}, fmt.Errorf("%w: %w", ErrIdentityCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Identity{}, fmt.Errorf("%w: trailing data after the JSON object", ErrIdentityCorrupt)
	}
	switch {
	case raw.Version == 0:
		return Identity{}, fmt.Errorf("%w: no format version", ErrIdentityCorrupt)
	case raw.Version != FormatVersion:
		return Identity{}, fmt.Errorf("%w: version %d, this agent reads %d", ErrIdentityVersion, raw.Version, FormatVersion)
	}
	u, err := ParseDiskUUID(raw.UUID)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: uuid: %w", ErrIdentityCorrupt, err)
	}
	if raw.Created.IsZero() {
		return Identity{}, fmt.Errorf("%w: no creation time", ErrIdentityCorrupt)
	}
	id := Identity{Version: raw.Version, UUID: u, Name: raw.Name, Created: raw.Created, ClaimPending: raw.Pending}
	if raw.Prev != "" {
		if !raw.Pending {
			return Identity{}, fmt.Errorf("%w: a previous identity without a pending claim", ErrIdentityCorrupt)
		}
		if id.Previous, err = ParseDiskUUID(raw.Prev); err != nil {
			return Identity{}, fmt.Errorf("%w: previous: %w", ErrIdentityCorrupt, err)
		}
	}
	return id, nil
}

// Marshal returns the file content for id.
func (id Identity) Marshal() []byte {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		panic("diskid: marshal identity: " + err.Error()) // only strings, ints and a time
	}
	return append(b, '\n')
}

// identityPath names the identity file of the disk at dir, for errors.
func identityPath(dir string) string { return filepath.Join(dir, IdentityFile) }

// readIdentityIn reads and parses the identity file in d. Errors name the
// file; a missing file is ErrIdentityMissing.
func readIdentityIn(d *dirHandle) (Identity, error) {
	data, err := d.readFile(IdentityFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Identity{}, fmt.Errorf("%w: %s", ErrIdentityMissing, identityPath(d.path))
		}
		return Identity{}, err
	}
	id, err := ParseIdentity(data)
	if err != nil {
		return Identity{}, fmt.Errorf("%s: %w", identityPath(d.path), err)
	}
	return id, nil
}

// ReadIdentity reads the identity of the filesystem disk at dir. It takes no
// lock: writers replace the file by rename, so a reader sees the old file or
// the new one.
func ReadIdentity(dir string) (Identity, error) {
	d, err := openDir(dir)
	if err != nil {
		return Identity{}, err
	}
	defer d.close()
	return readIdentityIn(d)
}

// CreateIdentity writes id as the identity of the disk at dir. It fails with
// ErrIdentityExists if the disk has an identity already, valid or not:
// identities are created exactly once.
func CreateIdentity(ctx context.Context, dir string, id Identity) error {
	if _, err := ParseIdentity(id.Marshal()); err != nil {
		return fmt.Errorf("create identity in %s: %w", dir, err)
	}
	return withLockedDir(ctx, dir, IdentityFile, func(d *dirHandle) error {
		return createIdentityIn(d, id)
	})
}

func createIdentityIn(d *dirHandle, id Identity) error {
	err := d.writeAtomic(IdentityFile, id.Marshal(), true)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrIdentityExists, identityPath(d.path))
	}
	return err
}

// ReplaceIdentity replaces the identity of the disk at dir with id, but only
// if the disk's current identity has the UUID old: a compare-and-swap that
// fails with ErrIdentityChanged if someone else regenerated it meanwhile.
func ReplaceIdentity(ctx context.Context, dir string, old DiskUUID, id Identity) error {
	if _, err := ParseIdentity(id.Marshal()); err != nil {
		return fmt.Errorf("replace identity in %s: %w", dir, err)
	}
	return withLockedDir(ctx, dir, IdentityFile, func(d *dirHandle) error {
		cur, err := readIdentityIn(d)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrIdentityChanged, err)
		}
		if cur.UUID != old {
			return fmt.Errorf("%w: %s holds %s, expected %s", ErrIdentityChanged, identityPath(dir), cur.UUID, old)
		}
		return d.writeAtomic(IdentityFile, id.Marshal(), false)
	})
}

// unusedIn reports whether d holds nothing but its identity file. The
// lost+found of a freshly made filesystem does not count as use.
func unusedIn(d *dirHandle) (bool, []string, error) {
	names, err := d.names()
	if err != nil {
		return false, nil, err
	}
	var others []string
	for _, n := range names {
		if n == IdentityFile || n == "lost+found" {
			continue
		}
		others = append(others, n)
	}
	return len(others) == 0, others, nil
}

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
