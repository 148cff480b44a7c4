package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// guardKind is a kind of call the guard checks before SPDK sees it.
type guardKind int

const (
	guardDeleteLvol guardKind = iota + 1
	guardDeleteLvstore
	guardDeleteBdev
	guardEsnapParent // clone_bdev and set_parent_bdev
	guardRenameLvol
	guardRenameLvstore
	// guardDetachController: bdev_nvme_detach_controller removes every
	// namespace bdev of the controller (<name>n<nsid>), lvstore bases
	// included, without being named *_delete.
	guardDetachController
)

// Rules the guard itself applies (the graph rules come from lvolgraph).
const (
	ruleGraphIncomplete  = "graph-incomplete"
	ruleGraphStale       = "graph-stale"
	ruleClaimedEsnapBase = "esnap-parent-claimed"
	ruleRenameReadOnly   = "rename-read-only"
	ruleNameTooLong      = "name-too-long"
	ruleInvalidParams    = "invalid-params"
	ruleUnknownTarget    = "unknown-target"
)

// maxNameBytes is SPDK's limit for lvol and lvstore names, which renames
// do not check (they cut the name silently, possibly inside a character).
const maxNameBytes = 63

// guardFor returns how method is guarded, if it is.
func guardFor(method string) (guardKind, bool) {
	switch method {
	case "bdev_lvol_delete":
		return guardDeleteLvol, true
	case "bdev_lvol_delete_lvstore":
		return guardDeleteLvstore, true
	case "bdev_lvol_clone_bdev", "bdev_lvol_set_parent_bdev":
		return guardEsnapParent, true
	case "bdev_lvol_rename":
		return guardRenameLvol, true
	case "bdev_lvol_rename_lvstore":
		return guardRenameLvstore, true
	case "bdev_nvme_detach_controller":
		return guardDetachController, true
	}
	if strings.HasPrefix(method, "bdev_") && strings.HasSuffix(method, "_delete") {
		return guardDeleteBdev, true
	}
	return 0, false
}

// guardParams are the members of guarded calls the guard reads, decoded
// by decodeGuardParams. Other members are left to SPDK, which rejects
// unknown keys.
type guardParams struct {
	Name       string
	UUID       string
	LvsName    string
	Bdev       string
	CloneName  string
	LvolName   string
	ParentName string
	OldName    string
	NewName    string
}

// errDuplicateKey is returned for params that give one key twice.
var errDuplicateKey = errors.New("key given more than once")

// decodeGuardParams reads the members the guard judges the way SPDK's
// decoder finds them: by exact key (Go's decoder also takes "NAME" for
// "name", SPDK does not). A key given twice is refused: Go's decoder takes
// the last value, and a decoder taking the first would act on a target the
// guard never judged.
func decodeGuardParams(raw json.RawMessage) (guardParams, error) {
	var p guardParams
	if len(bytes.TrimSpace(raw)) == 0 {
		return p, nil
	}
	fields := map[string]*string{
		"name": &p.Name, "uuid": &p.UUID, "lvs_name": &p.LvsName, "bdev": &p.Bdev,
		"clone_name": &p.CloneName, "lvol_name": &p.LvolName, "parent_name": &p.ParentName,
		"old_name": &p.OldName, "new_name": &p.NewName,
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return p, errors.New("params must be an object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return p, err
		}
		key := tok.(string) // an object's keys are strings
		if seen[key] {
			return p, fmt.Errorf("%w: %q", errDuplicateKey, key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return p, err
		}
		if f, ok := fields[key]; ok {
			if err := json.Unmarshal(v, f); err != nil {
				return p, fmt.Errorf("%q: %w", key, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return p, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return p, errors.New("data after the params object")
	}
	return p, nil
}

// target is what a guarded call acts on, for messages and fresh reads.
func (p guardParams) target(k guardKind) string {
	switch k {
	case guardDeleteLvstore:
		if p.UUID != "" {
			return p.UUID
		}
		return p.LvsName
	case guardEsnapParent:
		if p.Bdev != "" {
			return p.Bdev
		}
		return p.ParentName
	case guardRenameLvol, guardRenameLvstore:
		return p.OldName
	}
	return p.Name
}

// ref is what a guarded call acts on, as the graph looks it up. An
// lvstore parameter is a name or a UUID by its key, never by its shape:
// SPDK accepts lvstore names with '/' or shaped like a UUID.
func (p guardParams) ref(k guardKind) lvolgraph.Ref {
	switch k {
	case guardDeleteLvstore:
		if p.UUID != "" {
			return lvolgraph.UUIDRef(p.UUID)
		}
		return lvolgraph.NameRef(p.LvsName)
	case guardRenameLvstore:
		return lvolgraph.NameRef(p.OldName)
	}
	return lvolgraph.ParseRef(p.target(k))
}

// guarded checks a destructive call against a fresh read, forwards it when
// allowed and records both in the audit log. Calls on one lvstore are
// serialized, from the check until the refresh after the call.
func (a *Agent) guarded(ctx context.Context, req *spdkserver.Request, k guardKind) (any, error) {
	rec := a.audit.newRecord(req.Peer, req.Method, req.Params)
	rec.Stage = "decision"
	p, err := decodeGuardParams(req.Params)
	if err != nil {
		e := invalidParams(req.Method, err)
		rec.Decision, rec.Rule, rec.Reason = decisionRefused, ruleInvalidParams, e.Message
		return nil, a.auditOrFail(rec, e)
	}
	unlock, err := a.locks.lock(ctx, a.lockKey(k, p.ref(k)))
	if err != nil {
		return nil, errSPDKUnavailable(req.Method, err)
	}
	defer unlock()

	facts, allowed := a.decide(ctx, req.Method, k, p)
	if !allowed {
		e := refusal(facts)
		rec.Decision, rec.Rule, rec.Reason = decisionRefused, facts.Rule, facts.Reason
		if a.metrics != nil {
			a.metrics.guardDecision(req.Method, facts.Rule, false)
		}
		return nil, a.auditOrFail(rec, e)
	}
	rec.Decision = decisionAllowed
	if err := a.audit.write(rec); err != nil {
		return nil, errSPDKUnavailable(req.Method, err)
	}
	if a.metrics != nil {
		a.metrics.guardDecision(req.Method, "", true)
	}
	touched := a.touchedBy(req.Method, req.Params)
	retire := a.lvstoreDeletedBy(k, p.ref(k))
	res, callErr := a.forward(ctx, req.Method, req.Params)
	if callErr == nil && retire != "" {
		// Deleted on purpose: its absence must not make the graph
		// incomplete from now on.
		if _, err := a.seen.forget(retire); err != nil {
			a.log.Warn("forgetting a deleted lvstore", "lvstore", retire, "err", err)
		}
	}
	a.refreshAfter(ctx, req.Method, touched, res)
	rec.Stage, rec.Decision = "result", ""
	if callErr != nil {
		rec.Error = callErr.Error()
	} else {
		rec.Result = string(res)
	}
	if err := a.audit.write(rec); err != nil {
		a.log.Error("audit", "err", err)
	}
	if callErr != nil {
		return nil, callErr
	}
	return res, nil
}

// auditOrFail writes a refusal to the audit log and returns the refusal.
func (a *Agent) auditOrFail(rec auditRecord, refused *spdkrpc.Error) error {
	if err := a.audit.write(rec); err != nil {
		a.log.Error("audit", "err", err)
	}
	return refused
}

// decide returns whether the call may go to SPDK, and the facts when not.
func (a *Agent) decide(ctx context.Context, method string, k guardKind, p guardParams) (refusalFacts, bool) {
	target := p.target(k)
	deny := func(rule, reason string, deps []string) (refusalFacts, bool) {
		return refusalFacts{Rule: rule, Method: method, Target: target, Reason: reason, Dependents: deps}, false
	}
	// Checks that need no read of SPDK.
	switch k {
	case guardRenameLvol, guardRenameLvstore:
		if len(p.NewName) > maxNameBytes {
			return deny(ruleNameTooLong, fmt.Sprintf("the new name is %d bytes; SPDK allows %d and a rename would cut it silently", len(p.NewName), maxNameBytes), nil)
		}
	}
	if (k == guardDeleteBdev || k == guardDetachController) && target == "" {
		// bdev_split_delete {base_bdev}, say: the guard reads only
		// "name", so it cannot tell which bdevs such a call deletes.
		return deny(ruleUnknownTarget, `the params name no bdev under "name", so the guard cannot tell which bdevs this deletes`, nil)
	}
	snap, facts, ok := a.freshSnapshot(ctx, method, target, k)
	if !ok {
		return facts, false
	}
	g := snap.Graph
	// judge applies a graph rule to the target; when the graph does not
	// know it, to the object SPDK resolves it to.
	judge := func(check func(lvolgraph.Ref) lvolgraph.Decision) (refusalFacts, bool) {
		d := check(p.ref(k))
		if d.Unknown() {
			canon, known, err := a.resolveInSPDK(ctx, k, p)
			switch {
			case err != nil:
				return deny(ruleGraphStale, fmt.Sprintf("could not ask SPDK what %q names: %v", target, err), nil)
			case !known:
				return refusalFacts{}, true // SPDK answers "No such device" itself
			}
			if d = check(canon); d.Unknown() {
				return deny(ruleGraphIncomplete, fmt.Sprintf("SPDK resolves %q to %s, which the graph does not hold", target, canon.Value), nil)
			}
		}
		if d.Allowed {
			return refusalFacts{}, true
		}
		deps := make([]string, 0, len(d.Dependents))
		for _, a := range d.Dependents {
			deps = append(deps, string(a))
		}
		return deny(string(d.Rule), d.Reason, deps)
	}
	switch k {
	case guardDeleteLvol:
		return judge(g.CheckDeleteLvol)
	case guardDeleteLvstore:
		return judge(g.CheckDeleteLvstore)
	case guardDeleteBdev:
		return judge(func(r lvolgraph.Ref) lvolgraph.Decision { return g.CheckDeleteBdev(spdkrpc.BdevName(r.Value)) })
	case guardDetachController:
		for _, b := range controllerBdevs(g, target) {
			if d := g.CheckDeleteBdev(b); !d.Allowed && !d.Unknown() {
				deps := make([]string, 0, len(d.Dependents))
				for _, a := range d.Dependents {
					deps = append(deps, string(a))
				}
				return deny(string(d.Rule), fmt.Sprintf("detaching controller %s removes its namespace bdev %s: %s", target, b, d.Reason), deps)
			}
		}
	case guardEsnapParent:
		if reason, claimed := claimedBase(g, target); claimed {
			return deny(ruleClaimedEsnapBase, reason, nil)
		}
	case guardRenameLvol:
		l, found := g.Lvol(p.ref(k))
		if !found {
			if canon, known, err := a.resolveInSPDK(ctx, k, p); err == nil && known {
				l, found = g.Lvol(canon)
			}
		}
		if found {
			if l.Snapshot {
				return deny(ruleRenameReadOnly, "it is a snapshot, which is read-only: SPDK would change the bdev alias and then fail, leaving the rename half done", nil)
			}
			if a.isMarkedReadOnly(l.UUID) {
				return deny(ruleRenameReadOnly, "it was set read-only: SPDK would change the bdev alias and then fail, leaving the rename half done", nil)
			}
		}
	}
	return refusalFacts{}, true
}

// freshSnapshot reads the objects the call involves from SPDK and returns
// the snapshot holding that read, or the refusal when the graph cannot be
// trusted for destructive decisions.
func (a *Agent) freshSnapshot(ctx context.Context, method, target string, k guardKind) (*Snapshot, refusalFacts, bool) {
	deny := func(rule, reason string) (*Snapshot, refusalFacts, bool) {
		return nil, refusalFacts{Rule: rule, Method: method, Target: target, Reason: reason}, false
	}
	snap := a.follower.current()
	if snap == nil || !snap.Synced {
		return deny(ruleGraphIncomplete, "the agent has not read SPDK's state since it connected")
	}
	if !snap.Complete() {
		return deny(ruleGraphIncomplete, "expected lvstores are missing: "+strings.Join(snap.Missing, ", "))
	}
	if age := time.Since(a.follower.confirmedAt()); age > a.cfg.MaxGraphAge {
		return deny(ruleGraphStale, fmt.Sprintf("SPDK's state was last read %v ago (limit %v)", age.Round(time.Millisecond), a.cfg.MaxGraphAge))
	}
	rctx, cancel := context.WithTimeout(ctx, a.cfg.MaxGraphAge)
	defer cancel()
	// A controller's name is no bdev's: read everything to see its
	// namespaces.
	full := k == guardDeleteLvstore || k == guardRenameLvstore || k == guardDetachController
	fresh, err := a.follower.request(rctx, []string{target}, full)
	if err != nil {
		return deny(ruleGraphStale, "could not read the objects involved from SPDK: "+err.Error())
	}
	if !fresh.Complete() {
		return deny(ruleGraphIncomplete, "expected lvstores are missing: "+strings.Join(fresh.Missing, ", "))
	}
	return fresh, refusalFacts{}, true
}

// claimedBase reports why a bdev must not become an external snapshot
// parent: it is claimed (an lvstore's base, typically), and SPDK would
// accept the call and crash at the next reopen.
func claimedBase(g *lvolgraph.Graph, name string) (string, bool) {
	if lvs, ok := g.LvstoreOnBdev(spdkrpc.BdevName(name)); ok {
		return fmt.Sprintf("bdev %s is the base bdev of lvstore %s (%s); SPDK would accept it and crash at the next reopen", name, lvs.Name, lvs.UUID), true
	}
	b, ok := g.Bdev(spdkrpc.BdevName(name))
	if !ok {
		b, ok = g.BdevByUUID(spdkrpc.BdevUUID(name))
	}
	if ok && b.Claimed {
		return fmt.Sprintf("bdev %s is claimed by another module; SPDK would accept it and crash at the next reopen", name), true
	}
	return "", false
}

// lvstoreDeletedBy returns the UUID of the lvstore a delete_lvstore call
// names, resolved before the call.
func (a *Agent) lvstoreDeletedBy(k guardKind, ref lvolgraph.Ref) spdkrpc.LvstoreUUID {
	snap := a.follower.current()
	if k != guardDeleteLvstore || snap == nil || snap.Graph == nil {
		return ""
	}
	if l, ok := snap.Graph.Lvstore(ref); ok {
		return l.UUID
	}
	return ""
}

// lockKey is the serialization key of a destructive call: the lvstore of
// the object it names when the graph knows it, else one key for the whole
// node.
func (a *Agent) lockKey(k guardKind, ref lvolgraph.Ref) string {
	snap := a.follower.current()
	if snap == nil || snap.Graph == nil {
		return "node"
	}
	g := snap.Graph
	switch k {
	case guardDeleteLvstore, guardRenameLvstore:
		if l, ok := g.Lvstore(ref); ok {
			return "lvs:" + string(l.UUID)
		}
	case guardDeleteLvol, guardRenameLvol, guardEsnapParent, guardDeleteBdev:
		// An lvol bdev is keyed by its lvstore whichever call names it, so
		// that a delete and a call making something depend on the same
		// lvol (an esnap clone of it, say) never overlap.
		if l, ok := g.Lvol(ref); ok {
			return "lvs:" + string(l.LvstoreUUID)
		}
	}
	return "node"
}

// dependencyTarget returns the lvol that a call makes another lvol depend
// on, for the calls that are not destructive but change what a delete of
// that lvol decides: a clone or set_parent landing between the guard's
// check of a snapshot with no clones and SPDK's delete of it would let SPDK
// merge the snapshot into the new clone. Such calls take the same lock as a
// delete of their parent.
func dependencyTarget(method string, params json.RawMessage) (string, bool) {
	var p struct {
		SnapshotName string `json:"snapshot_name"`
		ParentName   string `json:"parent_name"`
	}
	if json.Unmarshal(params, &p) != nil {
		return "", false // SPDK refuses it without touching anything
	}
	switch method {
	case "bdev_lvol_clone":
		return p.SnapshotName, p.SnapshotName != ""
	case "bdev_lvol_set_parent":
		return p.ParentName, p.ParentName != ""
	}
	return "", false
}

// resolveInSPDK asks SPDK which object the target of a call names, for a
// target the graph cannot resolve: SPDK's lookups are not the graph's (it
// parses an lvstore UUID, so capitals match), and "unknown to the graph"
// may only mean "let SPDK answer" when SPDK does not know the object
// either. It returns the lvstore's UUID, an lvol's UUID or a bdev's name;
// known is false when SPDK does not know the target (or, for
// bdev_lvol_delete, knows it as a bdev that is no lvol).
func (a *Agent) resolveInSPDK(ctx context.Context, k guardKind, p guardParams) (ref lvolgraph.Ref, known bool, err error) {
	if p.target(k) == "" {
		return lvolgraph.Ref{}, false, nil // SPDK refuses the params
	}
	r := reader{c: a.pool}
	if k == guardDeleteLvstore || k == guardRenameLvstore {
		q := map[string]string{"lvs_name": p.ref(k).Value}
		if ref := p.ref(k); ref.Kind == lvolgraph.RefUUID {
			q = map[string]string{"uuid": ref.Value}
		}
		var ls []spdkrpc.Lvstore
		err := r.call(ctx, "bdev_lvol_get_lvstores", q, &ls)
		if errors.Is(err, spdkrpc.ErrNotFound) || err == nil && len(ls) == 0 {
			return lvolgraph.Ref{}, false, nil
		}
		if err != nil {
			return lvolgraph.Ref{}, false, err
		}
		return lvolgraph.UUIDRef(ls[0].UUID), true, nil
	}
	found, _, err := r.readBdevs(ctx, []string{p.target(k)})
	if err != nil || len(found) == 0 {
		return lvolgraph.Ref{}, false, err
	}
	b := found[0]
	if _, isLvol := b.LvolInfo(); isLvol {
		return lvolgraph.UUIDRef(b.Name), true, nil
	}
	if k == guardDeleteLvol {
		return lvolgraph.Ref{}, false, nil
	}
	return lvolgraph.NameRef(b.Name), true, nil
}

// controllerBdevs returns the bdevs of the graph that are namespaces of the
// NVMe controller ctrlr: SPDK names them <ctrlr>n<nsid>.
func controllerBdevs(g *lvolgraph.Graph, ctrlr string) []spdkrpc.BdevName {
	var out []spdkrpc.BdevName
	for _, b := range g.Bdevs() {
		nsid, ok := strings.CutPrefix(string(b.Name), ctrlr+"n")
		if ok && nsid != "" && strings.Trim(nsid, "0123456789") == "" {
			out = append(out, b.Name)
		}
	}
	return out
}
