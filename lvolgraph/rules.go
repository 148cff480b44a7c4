package lvolgraph

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Rule names why a deletion is refused, in a form programs can match.
type Rule string

// Rules of the planner and the guard.
const (
	// RuleBackingImage: the lvol is a backing image: named as one, the
	// external snapshot of an esnap clone, or a snapshot that another
	// owner's lvols read from.
	RuleBackingImage Rule = "backing-image"
	// RuleHasDependents: an lvol that stays reads from it (a clone, an
	// esnap clone, or a descendant of either).
	RuleHasDependents Rule = "has-dependents"
	// RuleKept: the request asked to keep it.
	RuleKept Rule = "kept"
	// RuleAncestorOfKept: a kept lvol reads from it.
	RuleAncestorOfKept Rule = "ancestor-of-kept"
	// RuleNotOwned: the replica does not own it.
	RuleNotOwned Rule = "not-owned"
	// RuleGraphAnomaly: SPDK's listings of the lvstore contradict each
	// other; nothing there is deleted until they agree.
	RuleGraphAnomaly Rule = "graph-anomaly"
	// RuleGraphIncomplete: the listings of the lvstore lack what a safe
	// decision needs (an lvol without its bdev, an unlisted lvstore, a
	// parent not listed).
	RuleGraphIncomplete Rule = "graph-incomplete"
	// RuleNotFound: the graph does not know the object. This is not a
	// verdict: the object may be newer than the graph. Refresh and ask
	// again; if it is still unknown, SPDK will answer "No such device".
	RuleNotFound Rule = "not-found"
	// RuleLvstoreBase: the bdev holds an lvstore; deleting it destroys
	// the lvstore and every lvol in it.
	RuleLvstoreBase Rule = "lvstore-base"
	// RuleLvstoreNotEmpty: the lvstore holds lvols, which SPDK would
	// delete along with it.
	RuleLvstoreNotEmpty Rule = "lvstore-not-empty"
)

// Errors of PlanCleanup.
var (
	// ErrLvstoreNotFound is returned when the request's lvstore is not in
	// the graph (or its name is ambiguous).
	ErrLvstoreNotFound = errors.New("lvstore not found")
	// ErrKeepNotFound is returned when a lvol to keep is not in the
	// request's lvstore: planning without it could delete what the caller
	// meant to keep.
	ErrKeepNotFound = errors.New("lvol to keep not found")
	// ErrBadRequest is returned for a request without a replica or with an
	// invalid reference.
	ErrBadRequest = errors.New("bad cleanup request")
)

// Decision is the guard's answer about one destructive operation. The agent
// sends it as the data of the error it returns when the operation is refused.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Rule    Rule   `json:"rule,omitempty"`
	Reason  string `json:"reason"`
	// Dependents are the lvols that stand in the way.
	Dependents []spdkrpc.LvolAlias `json:"dependents,omitempty"`
}

// Unknown reports whether the graph did not know the object: not a refusal
// on the merits, see RuleNotFound.
func (d Decision) Unknown() bool { return d.Rule == RuleNotFound }

// trustRule explains why an lvstore is not trustworthy, or returns ok.
func (g *Graph) trustRule(lvs spdkrpc.LvstoreUUID) (Rule, string, bool) {
	if g.Trustworthy(lvs) {
		return "", "", true
	}
	as := g.LvstoreAnomalies(lvs)
	if len(as) == 0 && len(g.blind) > 0 {
		var hidden []*Lvol
		for u := range g.blind {
			if l, ok := g.lvols.get(u); ok {
				hidden = append(hidden, l)
			}
		}
		inv := aliases(hidden, 0)
		return RuleGraphIncomplete, fmt.Sprintf("esnap clones %s are not listed by bdev_get_bdevs, so what they read from is unknown",
			joinAliases(inv, len(inv))), false
	}
	if len(as) == 0 {
		return RuleGraphIncomplete, fmt.Sprintf("lvstore %s is not listed by bdev_lvol_get_lvstores", lvs), false
	}
	rule := RuleGraphIncomplete
	for _, a := range as {
		if !a.Kind.Incomplete() {
			rule = RuleGraphAnomaly
		}
	}
	parts := make([]string, 0, 3)
	for i, a := range as {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(as)-3))
			break
		}
		parts = append(parts, string(a.Kind)+": "+a.Detail)
	}
	return rule, fmt.Sprintf("lvstore %s is not trustworthy until SPDK's listings agree (%s)", lvs, strings.Join(parts, "; ")), false
}

// aliases lists the aliases of lvols, sorted, at most max of them (max <= 0:
// all).
func aliases(ls []*Lvol, max int) []spdkrpc.LvolAlias {
	out := make([]spdkrpc.LvolAlias, 0, len(ls))
	for _, l := range ls {
		a := l.Alias
		if a == "" {
			a = spdkrpc.LvolAlias(l.UUID)
		}
		out = append(out, a)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out
}

// count renders n with the singular or plural form of what it counts.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// joinAliases renders aliases for a sentence, eliding after a few.
func joinAliases(as []spdkrpc.LvolAlias, total int) string {
	parts := make([]string, 0, len(as)+1)
	for i, a := range as {
		if i == 5 {
			break
		}
		parts = append(parts, string(a))
	}
	if total > len(parts) {
		parts = append(parts, fmt.Sprintf("%d more", total-len(parts)))
	}
	return strings.Join(parts, ", ")
}
