package lvolgraph

import (
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// ReplicaNames is implemented by ownership schemes that can tell, from a
// name alone, which replica an lvol belongs to. [Graph.Orphans] needs it.
type ReplicaNames interface {
	// Owners returns every replica that name may be an lvol of, other
	// than its head: one per way of splitting the name, longest replica
	// first. It returns nil for a head (a name of no other form is the
	// head of a replica of that name) and for a backing image.
	Owners(name spdkrpc.LvolName) []string
	// Heads returns the names the head lvol of replica may have.
	Heads(replica string) []spdkrpc.LvolName
}

// ownedSuffixes are the forms of DefaultOwnership's names other than the
// head's; "-rebuilding" names a head.
var ownedSuffixes = []string{"-snap-", "-expired-", "-clone-ep-"}

func (d defaultOwnership) Owners(name spdkrpc.LvolName) []string {
	n := string(name)
	if d.BackingImage(name) || strings.HasSuffix(n, "-rebuilding") {
		return nil // a backing image, or a head being rebuilt
	}
	var out []string
	// From the right, so that the longest replica comes first:
	// "pvc-a-snap-b-snap-c" may be pvc-a-snap-b's snapshot c or pvc-a's
	// snapshot b-snap-c.
	for i := len(n) - 1; i > 0; i-- {
		for _, suf := range ownedSuffixes {
			if strings.HasPrefix(n[i:], suf) && d.Owns(n[:i], name) {
				out = append(out, n[:i])
				break
			}
		}
	}
	return out
}

func (defaultOwnership) Heads(replica string) []spdkrpc.LvolName {
	return []spdkrpc.LvolName{spdkrpc.LvolName(replica), spdkrpc.LvolName(replica + "-rebuilding")}
}

// Orphans returns the lvols of an lvstore that no replica owns any more
// (sorted by name): under own, each belongs to a replica none of whose head
// lvols is in the lvstore, typically snapshots or put-aside heads left
// behind by a deleted replica. Heads are never orphans, nor are backing
// images, by name or by structure (an esnap clone reads from it, or an lvol
// not owned by the same replica does). It returns nil when own cannot
// derive owners from names (see [ReplicaNames]).
//
// An orphan is not deleted by anyone automatically: it is a finding for an
// operator, who may still need its data.
func (g *Graph) Orphans(lvstore spdkrpc.LvstoreUUID, own Ownership) []*Lvol {
	var out []*Lvol
	for _, l := range g.Lvols(lvstore) {
		if g.IsOrphan(l, own) {
			out = append(out, l)
		}
	}
	return out
}

// IsOrphan reports whether l is one of [Graph.Orphans] of its lvstore.
func (g *Graph) IsOrphan(l *Lvol, own Ownership) bool {
	rn, ok := own.(ReplicaNames)
	if !ok || l == nil || own.BackingImage(l.Name) {
		return false
	}
	owners := rn.Owners(l.Name)
	if len(owners) == 0 {
		return false
	}
	for _, r := range owners {
		if g.hasHead(l.LvstoreUUID, rn, r) {
			return false
		}
	}
	if len(g.EsnapClones(lvolBdevUUID(l.UUID))) > 0 {
		return false
	}
	for _, d := range g.Descendants(l) {
		if !ownedByAny(own, owners, d.Name) {
			return false // another replica's chain reads from it
		}
	}
	return true
}

func ownedByAny(own Ownership, replicas []string, name spdkrpc.LvolName) bool {
	for _, r := range replicas {
		if own.Owns(r, name) {
			return true
		}
	}
	return false
}

// hasHead reports whether a head lvol of replica is in the lvstore.
func (g *Graph) hasHead(lvstore spdkrpc.LvstoreUUID, rn ReplicaNames, replica string) bool {
	for _, h := range rn.Heads(replica) {
		if _, ok := g.LvolIn(lvstore, NameRef(h)); ok {
			return true
		}
	}
	return false
}
