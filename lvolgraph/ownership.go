package lvolgraph

import (
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Ownership says which lvols belong to which replica, and which are backing
// images, from their names. Names are hints: the planner also requires the
// structure to agree (see PlanCleanup).
type Ownership interface {
	// Owns reports whether the lvol named name belongs to replica.
	Owns(replica string, name spdkrpc.LvolName) bool
	// BackingImage reports whether the lvol named name is a backing image.
	BackingImage(name spdkrpc.LvolName) bool
}

// DefaultOwnership follows the common replica naming scheme:
//
//	<replica>                          the replica's head
//	<replica>-snap-<snapshot>          its snapshots
//	<replica>-rebuilding               the head being rebuilt
//	<replica>-expired-<hex>            a head put aside
//	<replica>-clone-ep-<snapshot>      a clone entrypoint made from it
//	bi-<image>-disk-<lvstore uuid>     a backing image, owned by no replica
//
// A replica owns a name only through one of these exact suffixes, so "r-1"
// does not own "r-10-snap-a" and "pvc-abc-r-1" is an ordinary replica name.
var DefaultOwnership Ownership = defaultOwnership{}

type defaultOwnership struct{}

func (defaultOwnership) Owns(replica string, name spdkrpc.LvolName) bool {
	if replica == "" {
		return false
	}
	n := string(name)
	if n == replica {
		return true
	}
	rest, ok := strings.CutPrefix(n, replica+"-")
	if !ok {
		return false
	}
	switch {
	case rest == "rebuilding":
		return true
	case strings.HasPrefix(rest, "snap-"):
		return len(rest) > len("snap-")
	case strings.HasPrefix(rest, "clone-ep-"):
		return len(rest) > len("clone-ep-")
	case strings.HasPrefix(rest, "expired-"):
		return isHex(rest[len("expired-"):])
	}
	return false
}

func (defaultOwnership) BackingImage(name spdkrpc.LvolName) bool {
	rest, ok := strings.CutPrefix(string(name), "bi-")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, "-disk-")
	return i > 0 && i+len("-disk-") < len(rest)
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
