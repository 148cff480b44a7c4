package guard

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Rules a refusal names, in a form programs can match. The names the agent
// used before this package keep their meaning.
const (
	RuleInvalidParams  = "invalid-params"    // params SPDK would read differently, or not at all
	RuleBackingImage   = "backing-image"     // an esnap clone (or a backing-image chain) reads from it
	RuleHasDependents  = "has-dependents"    // something else stands on it
	RuleLvstoreBase    = "lvstore-base"      // an lvstore sits on it
	RuleLvstoreEmpty   = "lvstore-not-empty" // SPDK would delete the lvstore's lvols with it
	RuleDegraded       = "degraded-lvol"     // an lvol without its bdev; SPDK may crash deleting it
	RuleAnomaly        = "graph-anomaly"     // the lvstore's listings disagree
	RuleIncomplete     = "graph-incomplete"  // the lvstore holds a degraded lvol, whose links SPDK does not list
	RuleChainRewrite   = "chain-rewrite"     // another lvol's chain would change
	RuleCycle          = "cycle"             // the new parent reads from the lvol (SPDK spins or crashes)
	RuleClaimedParent  = "esnap-parent-claimed"
	RuleShrink         = "shrink-under-reader"
	RuleCopyOntoUsed   = "copy-onto-used"
	RuleRenameReadOnly = "rename-read-only"
	RuleNameTooLong    = "name-too-long"
	RuleSharpEdge      = "sharp-edge"     // a call that crashes or hangs spdk_tgt v26.05
	RuleUncertain      = "uncertain"      // an earlier call on it did not finish in time
	RuleMethodRefused  = "method-refused" // the method is never forwarded
	RuleMethodUnknown  = "method-unknown" // a method this agent does not know
)

// Decision is the guard's verdict on one call.
type Decision struct {
	Allowed bool
	Rule    string
	// Target is what the call names, as the caller named it.
	Target string
	Reason string
	// Dependents are the objects in the way, for people.
	Dependents []string
	// Blockers are, for a removal refused because something stands on
	// its target, what stands on it directly: if another removal in the
	// same round takes them all away, the call is decided again after it.
	Blockers []Obj
	// Forward are the params to send to SPDK when allowed: the members
	// read, with each object the guard resolved named canonically.
	Forward json.RawMessage
	// Touched are the objects the call acts on or makes depend on
	// something: they become uncertain when the call does not answer. A
	// refused removal names its targets here too.
	Touched []Obj
	// DeletesLvstore is the UUID of the lvstore an allowed call deletes.
	DeletesLvstore string
	// ReadOnly is the UUID of the lvol an allowed call sets read-only.
	ReadOnly string
	// Lvstore is the UUID of the lvstore a creating call creates in, or
	// an lvol delete deletes from, when the guard could tell.
	Lvstore string
	// HeldOnEIO are objects SPDK keeps held, for good, when the call fails
	// with "Input/output error": the agent keeps them uncertain.
	HeldOnEIO []Obj
	// HeldOnEmpty are objects SPDK keeps held when the call succeeds with
	// an empty list (a split that made no part holds its base: deleting
	// the base then never answers).
	HeldOnEmpty []Obj
	// Undo repairs what SPDK half applies when the call fails with
	// "Operation not permitted": a rename of an lvol set read-only
	// straight on SPDK (which lists read-only nowhere) moves the bdev
	// alias before it fails; renaming back to the lvol's name restores it.
	Undo *Call
}

// Call is one SPDK call.
type Call struct {
	Method string
	Params json.RawMessage
}

// Env is what a decision may consult besides the call.
type Env struct {
	// State is a fresh read; nil for methods that need none.
	State *State
	// Uncertain reports objects of calls that did not answer in time.
	Uncertain func(Obj) bool
	// ReadOnly reports lvols set read-only (SPDK lists that nowhere).
	ReadOnly func(lvolUUID string) bool
	// MaxNameBytes is SPDK's name limit, which renames do not check.
	MaxNameBytes int
	// MetadataFull reports lvstores (by lower-case UUID) where a create
	// failed for want of metadata pages: a clone there crashes SPDK.
	MetadataFull func(lvstore string) bool
	// MetadataRatio reports the num_md_pages_per_cluster_ratio an
	// lvstore (lower-case UUID) was made with, when the agent saw it made.
	MetadataRatio func(lvstore string) (uint64, bool)
}

// call is one call being decided.
type call struct {
	method string
	p      Params
	env    Env
	s      *State
	target string
}

func (c *call) allow(touched ...Obj) Decision {
	return Decision{Allowed: true, Target: c.target, Forward: c.p.Encode(), Touched: touched}
}

func (c *call) deny(rule, format string, args ...any) Decision {
	return Decision{Rule: rule, Target: c.target, Reason: fmt.Sprintf(format, args...)}
}

// denyDeps refuses naming what stands in the way.
func (c *call) denyDeps(rule string, deps []Obj, format string, args ...any) Decision {
	d := c.deny(rule, format, args...)
	names := make([]string, 0, len(deps))
	for _, o := range deps {
		names = append(names, c.s.Describe(o))
	}
	sort.Strings(names)
	if len(names) > maxNamed {
		names = append(names[:maxNamed], fmt.Sprintf("and %d more", len(names)-maxNamed))
	}
	d.Dependents = names
	return d
}

// maxNamed bounds the dependents a refusal names.
const maxNamed = 16

// str reads a string member; a bad one is a refusal.
func (c *call) str(key string) (string, bool, *Decision) {
	v, ok, err := c.p.String(key)
	if err != nil {
		d := c.deny(RuleInvalidParams, "%v", err)
		return "", false, &d
	}
	return v, ok, nil
}

// uncertain returns the refusal for the first uncertain object, if any.
func (c *call) uncertain(objs ...Obj) (Decision, bool) {
	if c.env.Uncertain == nil {
		return Decision{}, false
	}
	for _, o := range objs {
		if c.env.Uncertain(o) {
			return c.deny(RuleUncertain, "an earlier call on %s did not answer in time; it may still be running in SPDK", c.describe(o)), true
		}
	}
	return Decision{}, false
}

func (c *call) describe(o Obj) string {
	if c.s == nil {
		_, id, _ := strings.Cut(string(o), ":")
		return id
	}
	return c.s.Describe(o)
}
