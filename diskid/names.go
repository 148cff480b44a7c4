package diskid

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// DefaultNameHashLen is the number of hex digits ComponentName uses.
const DefaultNameHashLen = 16

// ComponentName derives a name for a component that serves one image on
// one disk, such as a backing-image manager, from the FULL identifiers:
//
//	kind + "-" + hex(sha256(checksum NUL diskUUID))[:hexLen]
//
// Names built from short prefixes of each identifier (4 digits of the image
// checksum and 4 of the disk UUID) collide as soon as any two pairs share
// both prefixes; hashing the full identifiers makes the name space as large
// as the number of digits kept, and spreads it uniformly. Components whose
// names are already fixed cannot use this and rely on disk prefixes being
// unique instead (see Manager).
//
// How many digits to keep: with N = 16^d possible names and n components in
// the same namespace, the chance that any two share a name is about
//
//	p ≈ 1 - exp(-n²/(2N)),  so  n ≈ sqrt(2N·ln(1/(1-p)))
//
//	digits  N          n for p = 1%   n for p = 50%
//	4       65,536     36             301
//	8       4.29e9     9,292          77,163
//	16      1.84e19    6.09e8         5.06e9
//
// Four digits are unsafe even in a small cluster; eight are fine for one
// cluster; sixteen (the default) are fine for any fleet. hexLen is clamped
// to [8, 64]; the checksum's hex case does not matter.
func ComponentName(kind, checksum string, disk DiskUUID, hexLen int) string {
	hexLen = min(max(hexLen, 8), sha256.Size*2)
	h := sha256.New()
	h.Write([]byte(strings.ToLower(checksum)))
	h.Write([]byte{0}) // so that ("ab", "c...") and ("a", "bc...") differ
	h.Write([]byte(disk))
	return fmt.Sprintf("%s-%s", kind, hex.EncodeToString(h.Sum(nil))[:hexLen])
}
