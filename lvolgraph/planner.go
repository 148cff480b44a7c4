package lvolgraph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// CleanupRequest asks which lvols of a replica may go, typically after the
// replica was rebuilt.
type CleanupRequest struct {
	// Lvstore is the lvstore to clean, by name or UUID.
	Lvstore Ref `json:"lvstore"`
	// Replica is the replica whose lvols are to be deleted.
	Replica string `json:"replica"`
	// Keep lists lvols of the lvstore that must stay (bare names are
	// looked up in Lvstore).
	Keep []Ref `json:"keep,omitempty"`
	// Ownership maps names to owners; nil means DefaultOwnership.
	Ownership Ownership `json:"-"`
}

// Plan is the answer to a CleanupRequest.
type Plan struct {
	Lvstore    spdkrpc.LvstoreUUID `json:"lvstore"`
	Replica    string              `json:"replica"`
	Generation uint64              `json:"generation"`
	// Delete lists the lvols to delete, in an order that is safe to
	// execute one call at a time: every lvol comes after all lvols that
	// read from it, so each has no clone when it is deleted and SPDK never
	// merges a snapshot into a chain that stays.
	Delete []Step `json:"delete"`
	// Refused lists the candidates that must stay, and why.
	Refused []Refusal `json:"refused,omitempty"`
}

// Step is one deletion of a Plan.
type Step struct {
	UUID  spdkrpc.LvolUUID  `json:"uuid"`
	Alias spdkrpc.LvolAlias `json:"alias"`
}

// Refusal is a candidate the plan does not delete.
type Refusal struct {
	UUID   spdkrpc.LvolUUID  `json:"uuid"`
	Alias  spdkrpc.LvolAlias `json:"alias"`
	Rule   Rule              `json:"rule"`
	Reason string            `json:"reason"`
	// Involved are the other lvols the rule is about.
	Involved []spdkrpc.LvolAlias `json:"involved,omitempty"`
}

// PlanCleanup decides which lvols of a replica may be deleted.
//
// The candidates are the lvols the ownership scheme gives to the replica,
// plus every ancestor of theirs in the lvstore (so that a shared backing
// image or another replica's snapshot shows up as refused, with a reason).
// A candidate is deleted only if the lvstore is trustworthy, it is not kept
// or an ancestor of a kept lvol, it is not a backing image (by name or by
// structure), the replica owns it, and everything that reads from it is
// deleted too. An lvol the replica owns by name but that another owner's
// lvol reads from is a backing image: structure wins over names.
func PlanCleanup(g *Graph, req CleanupRequest) (Plan, error) {
	if req.Replica == "" {
		return Plan{}, fmt.Errorf("%w: no replica", ErrBadRequest)
	}
	s, ok := g.store(req.Lvstore)
	if !ok {
		return Plan{}, fmt.Errorf("%w: %s", ErrLvstoreNotFound, req.Lvstore.Value)
	}
	lvs := s.info.UUID
	own := req.Ownership
	if own == nil {
		own = DefaultOwnership
	}
	plan := Plan{Lvstore: lvs, Replica: req.Replica, Generation: g.gen, Delete: []Step{}}

	kept := map[spdkrpc.LvolUUID]bool{}
	keptAncestors := map[spdkrpc.LvolUUID]*Lvol{} // ancestor -> a kept lvol reading from it
	for _, ref := range req.Keep {
		if !ref.Valid() {
			return Plan{}, fmt.Errorf("%w: invalid keep reference %q", ErrBadRequest, ref.String())
		}
		l, ok := g.LvolIn(lvs, ref)
		if !ok {
			return Plan{}, fmt.Errorf("%w: %s in lvstore %s (%s)", ErrKeepNotFound, ref.Value, s.info.Name, lvs)
		}
		kept[l.UUID] = true
		for _, a := range g.Ancestors(l) {
			if _, done := keptAncestors[a.UUID]; !done {
				keptAncestors[a.UUID] = l
			}
		}
	}

	cands := g.candidates(s, req.Replica, own)
	if rule, why, ok := g.trustRule(lvs); !ok {
		for _, c := range cands {
			plan.Refused = append(plan.Refused, Refusal{UUID: c.UUID, Alias: c.Alias, Rule: rule, Reason: why})
		}
		return plan, nil
	}

	del := map[spdkrpc.LvolUUID]bool{}
	var tentative []*Lvol
	for _, c := range cands {
		if r, refused := g.judge(c, req.Replica, own, kept, keptAncestors); refused {
			plan.Refused = append(plan.Refused, r)
			continue
		}
		del[c.UUID] = true
		tentative = append(tentative, c)
	}
	// An lvol may go only with everything that reads from it; refusing one
	// can make its parent's deletion unsafe in turn, hence the fixpoint.
	for changed := true; changed; {
		changed = false
		for _, c := range tentative {
			if !del[c.UUID] {
				continue
			}
			var outside []*Lvol
			for _, d := range g.Dependents(c) {
				if !del[d.UUID] {
					outside = append(outside, d)
				}
			}
			if len(outside) == 0 {
				continue
			}
			delete(del, c.UUID)
			changed = true
			inv := aliases(outside, 0)
			plan.Refused = append(plan.Refused, Refusal{UUID: c.UUID, Alias: c.Alias, Rule: RuleHasDependents, Involved: inv,
				Reason: fmt.Sprintf("%s must stay: %s read from it and stay", c.Alias, joinAliases(inv, len(inv)))})
		}
	}
	type ordered struct {
		l     *Lvol
		depth int
	}
	var steps []ordered
	for _, c := range tentative {
		if del[c.UUID] {
			steps = append(steps, ordered{c, g.Depth(c)})
		}
	}
	slices.SortFunc(steps, func(a, b ordered) int {
		if a.depth != b.depth {
			return b.depth - a.depth
		}
		return strings.Compare(string(a.l.Alias), string(b.l.Alias))
	})
	for _, st := range steps {
		plan.Delete = append(plan.Delete, Step{UUID: st.l.UUID, Alias: st.l.Alias})
	}
	slices.SortFunc(plan.Refused, func(a, b Refusal) int { return strings.Compare(string(a.Alias), string(b.Alias)) })
	return plan, nil
}

// candidates returns the lvols of the lvstore the replica owns by name,
// and their ancestors in the lvstore, sorted by alias.
func (g *Graph) candidates(s *storeState, replica string, own Ownership) []*Lvol {
	seen := map[spdkrpc.LvolUUID]bool{}
	var out []*Lvol
	addLvol := func(l *Lvol) {
		if !seen[l.UUID] && l.LvstoreUUID == s.info.UUID {
			seen[l.UUID] = true
			out = append(out, l)
		}
	}
	consider := func(l *Lvol) {
		if !own.Owns(replica, l.Name) {
			return
		}
		addLvol(l)
		for _, a := range g.Ancestors(l) {
			addLvol(a)
		}
	}
	// Test the name first: it is the index key, so lvols the replica does
	// not own are never fetched.
	s.names.each(func(name spdkrpc.LvolName, u spdkrpc.LvolUUID) bool {
		if own.Owns(replica, name) {
			if l, ok := g.lvols.get(u); ok {
				consider(l)
			}
		}
		return true
	})
	// Lvols that lost a duplicate-name race are only reachable this way.
	for u := range s.anomalies {
		if l, ok := g.lvols.get(u); ok {
			consider(l)
		}
	}
	slices.SortFunc(out, func(a, b *Lvol) int { return strings.Compare(string(a.Alias), string(b.Alias)) })
	return out
}

// judge applies the rules that do not depend on the rest of the plan.
func (g *Graph) judge(c *Lvol, replica string, own Ownership, kept map[spdkrpc.LvolUUID]bool, keptAncestors map[spdkrpc.LvolUUID]*Lvol) (Refusal, bool) {
	r := Refusal{UUID: c.UUID, Alias: c.Alias}
	refuse := func(rule Rule, inv []spdkrpc.LvolAlias, format string, args ...any) (Refusal, bool) {
		r.Rule, r.Involved, r.Reason = rule, inv, fmt.Sprintf(format, args...)
		return r, true
	}
	if kept[c.UUID] {
		return refuse(RuleKept, nil, "%s is to be kept", c.Alias)
	}
	if k, ok := keptAncestors[c.UUID]; ok {
		return refuse(RuleAncestorOfKept, []spdkrpc.LvolAlias{k.Alias}, "kept lvol %s reads from %s", k.Alias, c.Alias)
	}
	// The structure is the stronger reason, so it is given first; the name
	// is given only when it is the only reason.
	if es := g.EsnapClones(lvolBdevUUID(c.UUID)); len(es) > 0 {
		inv := aliases(es, 0)
		return refuse(RuleBackingImage, inv, "%s is the external snapshot of %s", c.Alias, joinAliases(inv, len(inv)))
	}
	var foreign []*Lvol
	for _, d := range g.Descendants(c) {
		if !own.Owns(replica, d.Name) {
			foreign = append(foreign, d)
		}
	}
	if len(foreign) > 0 {
		return refuse(RuleBackingImage, aliases(foreign, 0), "%s", g.foreignReason(c, foreign, replica, own))
	}
	if own.BackingImage(c.Name) {
		return refuse(RuleBackingImage, nil, "%s is named as a backing image", c.Alias)
	}
	if !own.Owns(replica, c.Name) {
		return refuse(RuleNotOwned, nil, "%s does not belong to replica %s", c.Alias, replica)
	}
	return r, false
}

// foreignReason says whose chains read from c, naming the nearest lvol in
// the way (foreign is in breadth-first order) and its owner.
// maxNamedOwners is how many other owners a refusal's sentence names.
const maxNamedOwners = 5

func (g *Graph) foreignReason(c *Lvol, foreign []*Lvol, replica string, own Ownership) string {
	// A set: an image shared by thousands of replicas must not cost a
	// quadratic scan, nor a sentence naming them all.
	seen := map[string]bool{}
	var owners []string
	for _, d := range foreign {
		if o := g.owner(d, own); o != "" && !seen[o] {
			seen[o] = true
			owners = append(owners, o)
		}
	}
	slices.Sort(owners)
	whose := "other owners' chains"
	switch {
	case len(owners) == 1:
		whose = owners[0] + "'s chain"
	case len(owners) > maxNamedOwners:
		whose = fmt.Sprintf("the chains of %s and %d more", strings.Join(owners[:maxNamedOwners], ", "), len(owners)-maxNamedOwners)
	case len(owners) > 1:
		whose = "the chains of " + strings.Join(owners, ", ")
	}
	first := foreign[0]
	how := fmt.Sprintf("%s reads from it and", first.Alias)
	if slices.Contains(c.Children, first.UUID) {
		how = fmt.Sprintf("its clone %s", first.Alias)
	}
	if o := g.owner(first, own); o != "" {
		return fmt.Sprintf("%s is a backing image of %s: %s is owned by %s", c.Alias, whose, how, o)
	}
	return fmt.Sprintf("%s is a backing image of %s: %s is not owned by %s", c.Alias, whose, how, replica)
}

// owner names the replica l belongs to, or "" when own cannot tell: a head
// names its own replica; otherwise the first possible owner with a head in
// the lvstore wins, or the first possible owner.
func (g *Graph) owner(l *Lvol, own Ownership) string {
	rn, ok := own.(ReplicaNames)
	if !ok || own.BackingImage(l.Name) {
		return ""
	}
	cands := rn.Owners(l.Name)
	if len(cands) == 0 {
		return string(l.Name)
	}
	for _, r := range cands {
		if g.hasHead(l.LvstoreUUID, rn, r) {
			return r
		}
	}
	return cands[0]
}
