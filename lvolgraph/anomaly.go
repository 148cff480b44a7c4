package lvolgraph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// AnomalyKind names one way SPDK's listings can disagree with themselves or
// with each other. While an lvstore has any anomaly, the graph is not
// trustworthy for deletions on it: the planner and the guard refuse.
type AnomalyKind string

// Anomaly kinds. The "incomplete" ones mean a listing lacks what the graph
// needs (Incomplete reports which); the others mean the listings contradict
// each other.
const (
	AnomalyLvstoreUnlisted  AnomalyKind = "lvstore-unlisted"    // lvols name an lvstore get_lvstores did not list
	AnomalyLvstoreDuplicate AnomalyKind = "lvstore-duplicate"   // get_lvstores listed a UUID or a name twice
	AnomalyNoBdev           AnomalyKind = "lvol-without-bdev"   // in get_lvols, not in get_bdevs (degraded, or a half-applied rename)
	AnomalyNoLvolEntry      AnomalyKind = "bdev-without-lvol"   // in get_bdevs, not in get_lvols
	AnomalyAliasMismatch    AnomalyKind = "alias-mismatch"      // the listings give the lvol different aliases
	AnomalyFlagsMismatch    AnomalyKind = "flags-mismatch"      // the listings disagree on snapshot/clone/esnap flags, or a flag lacks its link
	AnomalyDuplicateUUID    AnomalyKind = "duplicate-uuid"      // one lvol UUID listed twice
	AnomalyDuplicateName    AnomalyKind = "duplicate-name"      // two lvols with one name in an lvstore
	AnomalyMissingParent    AnomalyKind = "missing-parent"      // a clone's base_snapshot names no lvol of its lvstore
	AnomalyParentNotSnap    AnomalyKind = "parent-not-snapshot" // a clone's parent is not a snapshot
	AnomalyMissingExternal  AnomalyKind = "missing-external"    // an esnap clone's external bdev is not listed
	AnomalyClonesMismatch   AnomalyKind = "clones-mismatch"     // a snapshot's clones list disagrees with its clones' base_snapshot
	AnomalyDegraded         AnomalyKind = "degraded"            // SPDK reports the lvol degraded
	AnomalyCycle            AnomalyKind = "cycle"               // following parents comes back to the lvol
)

// Incomplete reports whether the anomaly means missing information rather
// than contradictory information.
func (k AnomalyKind) Incomplete() bool {
	switch k {
	case AnomalyLvstoreUnlisted, AnomalyNoBdev, AnomalyNoLvolEntry, AnomalyMissingParent, AnomalyMissingExternal, AnomalyDegraded:
		return true
	}
	return false
}

// Anomaly is one inconsistency found in SPDK's listings.
type Anomaly struct {
	Kind    AnomalyKind         `json:"kind"`
	Lvstore spdkrpc.LvstoreUUID `json:"lvstore"`
	// Lvol is the lvol the anomaly is about; empty for lvstore-wide ones.
	Lvol   spdkrpc.LvolUUID `json:"lvol,omitempty"`
	Detail string           `json:"detail"`
}

func (a Anomaly) String() string {
	return fmt.Sprintf("%s in lvstore %s: %s", a.Kind, a.Lvstore, a.Detail)
}

// Anomalies returns every anomaly of the graph, sorted by lvstore, lvol and kind.
func (g *Graph) Anomalies() []Anomaly {
	var out []Anomaly
	for _, s := range g.stores {
		for _, as := range s.anomalies {
			out = append(out, as...)
		}
	}
	sortAnomalies(out)
	return out
}

// LvstoreAnomalies returns the anomalies of one lvstore, sorted.
func (g *Graph) LvstoreAnomalies(lvstore spdkrpc.LvstoreUUID) []Anomaly {
	s, ok := g.stores[lvstore]
	if !ok {
		return nil
	}
	var out []Anomaly
	for _, as := range s.anomalies {
		out = append(out, as...)
	}
	sortAnomalies(out)
	return out
}

// Trustworthy reports whether deletions on the lvstore may be decided from
// this graph: the lvstore is known, listed, and has no anomaly, and no
// esnap clone anywhere hides which bdev it reads from (it could be an lvol
// of this lvstore).
func (g *Graph) Trustworthy(lvstore spdkrpc.LvstoreUUID) bool {
	s, ok := g.stores[lvstore]
	return ok && s.info.Listed && len(s.anomalies) == 0 && len(g.blind) == 0
}

func sortAnomalies(as []Anomaly) {
	slices.SortFunc(as, func(a, b Anomaly) int {
		return cmpChain(
			strings.Compare(string(a.Lvstore), string(b.Lvstore)),
			strings.Compare(string(a.Lvol), string(b.Lvol)),
			strings.Compare(string(a.Kind), string(b.Kind)),
			strings.Compare(a.Detail, b.Detail))
	})
}

func cmpChain(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

// checkLvol lists the anomalies whose subject is l, from the editor's
// current state. It only looks at l and its direct neighbours, so that an
// update re-checks what it touched and nothing else.
func (e *editor) checkLvol(l *Lvol) []Anomaly {
	var out []Anomaly
	add := func(k AnomalyKind, format string, args ...any) {
		out = append(out, Anomaly{Kind: k, Lvstore: l.LvstoreUUID, Lvol: l.UUID, Detail: fmt.Sprintf(format, args...)})
	}
	who := lazyName{l}
	if l.x != nil {
		if l.x.dupUUID {
			add(AnomalyDuplicateUUID, "%s is listed more than once", who)
		}
		if l.x.bdevAlias != "" {
			add(AnomalyAliasMismatch, "%s has alias %q in bdev_get_bdevs", who, l.x.bdevAlias)
		}
		if l.x.flagsDiffer != "" {
			add(AnomalyFlagsMismatch, "the listings disagree on %s of %s", l.x.flagsDiffer, who)
		}
	}
	if !l.ListedInBdevs() {
		add(AnomalyNoBdev, "%s is not listed by bdev_get_bdevs, so its parent and clones are unknown", who)
	}
	if !l.ListedInLvols() {
		add(AnomalyNoLvolEntry, "%s is not listed by bdev_lvol_get_lvols", who)
	}
	if l.Degraded {
		add(AnomalyDegraded, "%s is degraded", who)
	}
	if u, dup := e.nameTakenBy(l); dup {
		add(AnomalyDuplicateName, "%s shares its name with lvol %s", who, u)
	}
	if e.cycles[l.UUID] {
		add(AnomalyCycle, "following the parents of %s leads back to it", who)
	}
	if l.ListedInBdevs() {
		out = append(out, e.checkLinks(l, who)...)
	}
	return out
}

// nameTakenBy returns the lvol that holds l's name in the index when it is
// not l. A fresh build records the losers as it indexes, saving a lookup
// per lvol.
func (e *editor) nameTakenBy(l *Lvol) (spdkrpc.LvolUUID, bool) {
	if e.fresh {
		u, ok := e.dupNames[l.UUID]
		return u, ok
	}
	u, ok := e.names(l.LvstoreUUID).get(l.Name)
	return u, ok && u != l.UUID
}

// lazyName formats as describe(l), only when a message is made.
type lazyName struct{ l *Lvol }

func (n lazyName) String() string { return describe(n.l) }

// checkLinks checks the parent and clone links bdev_get_bdevs reported.
func (e *editor) checkLinks(l *Lvol, who lazyName) []Anomaly {
	var out []Anomaly
	add := func(k AnomalyKind, format string, args ...any) {
		out = append(out, Anomaly{Kind: k, Lvstore: l.LvstoreUUID, Lvol: l.UUID, Detail: fmt.Sprintf(format, args...)})
	}
	switch l.Parent.Kind {
	case ParentLvol:
		switch p, ok := e.lvols.get(l.Parent.Lvol); {
		case l.baseSnapshot == "":
			add(AnomalyFlagsMismatch, "%s is a clone without a base_snapshot", who)
		case !ok:
			add(AnomalyMissingParent, "%s is a clone of %q, which its lvstore does not have", who, l.baseSnapshot)
		case !p.Snapshot:
			add(AnomalyParentNotSnap, "%s is a clone of %s, which is not a snapshot", who, describe(p))
		}
	case ParentExternal:
		_, isBdev := e.bdevUUIDs.get(l.Parent.Bdev)
		switch {
		case l.Parent.Bdev == "":
			add(AnomalyFlagsMismatch, "%s is an esnap clone without an external_snapshot_name", who)
		case !isBdev && l.Parent.Lvol == "":
			add(AnomalyMissingExternal, "%s reads from bdev %s, which is not listed", who, l.Parent.Bdev)
		}
	}
	clones := l.ReportedClones()
	if len(clones) == 0 && len(l.Children) == 0 {
		return out
	}
	ok := e.clonesAgree(l, clones)
	if !ok {
		add(AnomalyClonesMismatch, "%s lists clones %v but %s it as base_snapshot", who, clones, count(len(l.Children), "lvol names", "lvols name"))
	}
	return out
}

// describe names an lvol for messages: its alias and UUID.
func describe(l *Lvol) string {
	if l.Alias == "" {
		return "lvol " + string(l.UUID)
	}
	return fmt.Sprintf("%s (%s)", l.Alias, l.UUID)
}

// clonesAgree reports whether a snapshot's clones list names exactly its
// children. A listed clone bdev_get_bdevs did not list cannot be a child
// yet; it has its own (incomplete) anomaly and is not a disagreement.
func (e *editor) clonesAgree(l *Lvol, clones []spdkrpc.LvolName) bool {
	matched := make([]bool, len(clones))
	var index map[spdkrpc.LvolName]int
	if len(clones) > 8 {
		index = make(map[spdkrpc.LvolName]int, len(clones))
		for i, n := range clones {
			index[n] = i
		}
	}
	for _, cu := range l.Children {
		c, ok := e.lvols.get(cu)
		if !ok {
			return false
		}
		i := -1
		if index != nil {
			if j, found := index[c.Name]; found {
				i = j
			}
		} else {
			i = slices.Index(clones, c.Name)
		}
		if i < 0 || matched[i] {
			return false
		}
		matched[i] = true
		if e.fresh {
			// Share the clone's own name string rather than keep the
			// listing's copy alive.
			clones[i] = c.Name
		}
	}
	for i, n := range clones {
		if matched[i] {
			continue
		}
		u, found := e.names(l.LvstoreUUID).get(n)
		if !found {
			return false
		}
		if c, ok := e.lvols.get(u); !ok || c.ListedInBdevs() {
			return false
		}
	}
	return true
}
