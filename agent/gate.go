package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spdk-agent/spdk-agent/agent/guard"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// Rules the agent applies around the guard's own.
const (
	ruleGraphIncomplete  = "graph-incomplete"
	ruleGraphStale       = "graph-stale"
	ruleClaimedEsnapBase = guard.RuleClaimedParent
	ruleRenameReadOnly   = guard.RuleRenameReadOnly
	ruleNameTooLong      = guard.RuleNameTooLong
	ruleInvalidParams    = guard.RuleInvalidParams
)

// gate serializes the calls that change the dependency graph, from the
// fresh read they are decided on until SPDK answers them (or their
// deadline passes): nothing passing through the agent changes SPDK between
// a check and the call it allowed. It is a channel so that waiting honours
// the caller's context.
type gate chan struct{}

func newGate() gate { return make(gate, 1) }

func (g gate) lock(ctx context.Context) (func(), error) {
	select {
	case g <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once bool
	return func() {
		if !once {
			once = true
			<-g
		}
	}, nil
}

// methodAllowed reports whether an operator let a refused or unknown
// method through.
func (a *Agent) methodAllowed(method string) bool {
	for _, m := range a.cfg.AllowMethods {
		if m == method {
			return true
		}
	}
	return false
}

// classify returns how method is treated, or the refusal of a method that
// is never forwarded.
func (a *Agent) classify(method string) (guard.Entry, *spdkrpc.Error) {
	e, known := guard.Lookup(method)
	switch {
	case known && e.Class != guard.Refused:
		return e, nil
	case a.methodAllowed(method):
		return guard.Entry{Class: guard.Mutating}, nil
	case known:
		return e, refusal(refusalFacts{Rule: guard.RuleMethodRefused, Method: method,
			Reason: "the agent never forwards " + method + ": " + e.Why + " (an operator may allow it with --allow-method)"})
	}
	return e, refusal(refusalFacts{Rule: guard.RuleMethodUnknown, Method: method,
		Reason: "the guard does not know " + method + ", so it cannot tell what it changes (an operator may allow it with --allow-method)"})
}

// gated decides a graph-changing call on a fresh read, forwards it as the
// guard rewrote it when allowed, and audits both. Removals are decided in
// rounds (see batch.go).
func (a *Agent) gated(ctx context.Context, req *spdkserver.Request, e guard.Entry) (any, error) {
	rec := a.audit.newRecord(req.Peer, req.Method, req.Params)
	rec.Stage = "decision"
	if _, err := guard.ParseParams(req.Params); err != nil {
		return nil, a.refuse(&rec, refusalFacts{Rule: ruleInvalidParams, Reason: err.Error()})
	}
	if e.Removal {
		return a.removal(ctx, req, &rec)
	}
	unlock, gerr := a.lockGate(ctx, req.Method)
	if gerr != nil {
		return nil, gerr
	}
	defer unlock()

	env := a.guardEnv(nil)
	if e.Fresh {
		st, f, ok := a.freshState(ctx)
		if !ok {
			return nil, a.refuse(&rec, f)
		}
		env.State = st
	} else {
		env.State = a.lastState.Load()
	}
	d := guard.Decide(req.Method, req.Params, env)
	if !d.Allowed {
		return nil, a.refuse(&rec, factsOf(d))
	}
	if err := a.auditAllowed(&rec, d); err != nil {
		return nil, err
	}
	res, callErr := a.forwardGated(ctx, req.Method, d.Forward, d.Touched, unlock)
	if callErr != nil && d.Undo != nil && strings.Contains(callErr.Error(), "Operation not permitted") {
		a.undo(ctx, req.Method, d.Undo)
	}
	a.noteMetadata(req.Method, d, callErr)
	if callErr == nil && req.Method == "bdev_lvol_create_lvstore" {
		a.rememberRatio(d.Forward, res)
	}
	if callErr == nil && len(d.HeldOnEmpty) > 0 && strings.TrimSpace(string(res)) == "[]" {
		a.uncertain.add(d.HeldOnEmpty)
		a.log.Error("SPDK holds objects after a call that made nothing; graph calls on them are refused", "method", req.Method, "objects", d.HeldOnEmpty)
	}
	if callErr != nil && len(d.HeldOnEIO) > 0 && strings.Contains(callErr.Error(), "Input/output error") {
		a.uncertain.add(d.HeldOnEIO)
		a.log.Error("SPDK keeps objects held after a failed call; graph calls on them are refused", "method", req.Method, "objects", d.HeldOnEIO)
	}
	// SPDK has answered: the next graph call decides on its own fresh
	// read, so the refresh of the agent's view need not hold the gate.
	unlock()
	return a.finishGated(ctx, req, &rec, d, res, callErr)
}

// lockGate waits for the gate. Waiting counts against the call's
// deadline: behind a call SPDK does not answer, the others must not queue
// for ever.
func (a *Agent) lockGate(ctx context.Context, method string) (func(), error) {
	gctx, gcancel := ctx, context.CancelFunc(func() {})
	if d := a.cfg.timeoutFor(method); d > 0 {
		gctx, gcancel = context.WithTimeout(ctx, d)
	}
	defer gcancel()
	unlock, err := a.gate.lock(gctx)
	if err != nil {
		return nil, &spdkrpc.Error{Code: codeTimedOut, Message: fmt.Sprintf(
			"Connection timed out: spdk-agent: %s waited %v for the guard, which is busy with calls SPDK answers slowly or not at all", method, a.cfg.timeoutFor(method))}
	}
	return unlock, nil
}

func (a *Agent) guardEnv(st *guard.State) guard.Env {
	return guard.Env{State: st, Uncertain: a.uncertain.has, ReadOnly: a.readOnlyUUID, MetadataFull: a.metadataFull.has, MetadataRatio: a.metadataRatio}
}

func factsOf(d guard.Decision) refusalFacts {
	return refusalFacts{Rule: d.Rule, Target: d.Target, Reason: d.Reason, Dependents: d.Dependents}
}

// refuse audits a refusal and returns the error the caller gets.
func (a *Agent) refuse(rec *auditRecord, f refusalFacts) error {
	f.Method = rec.Method
	rec.Decision, rec.Rule, rec.Reason = decisionRefused, f.Rule, f.Reason
	if a.metrics != nil {
		a.metrics.guardDecision(rec.Method, f.Rule, false)
	}
	if f.Rule == ruleInvalidParams {
		// In SPDK's shape: SPDK would refuse them too, or read them
		// otherwise than the guard can judge.
		return a.auditOrFail(*rec, invalidParams(rec.Method, errors.New(f.Reason)))
	}
	return a.auditOrFail(*rec, refusal(f))
}

// auditAllowed writes the decision line of an allowed call, before SPDK
// sees it.
func (a *Agent) auditAllowed(rec *auditRecord, d guard.Decision) error {
	rec.Decision = decisionAllowed
	if string(d.Forward) != string(rec.Params) {
		rec.Forwarded = string(d.Forward)
	}
	if err := a.audit.write(*rec); err != nil {
		return errSPDKUnavailable(rec.Method, err)
	}
	if a.metrics != nil {
		a.metrics.guardDecision(rec.Method, "", true)
	}
	return nil
}

// finishGated does what follows SPDK's answer to an allowed graph call,
// outside the gate: the agent's view, the lvstores it expects, the result
// line of the audit log.
func (a *Agent) finishGated(ctx context.Context, req *spdkserver.Request, rec *auditRecord, d guard.Decision, res json.RawMessage, callErr error) (any, error) {
	if callErr == nil && d.DeletesLvstore != "" {
		// Deleted on purpose: its absence must not make the graph
		// incomplete from now on.
		if _, err := a.seen.forget(spdkrpc.LvstoreUUID(d.DeletesLvstore)); err != nil {
			a.log.Warn("forgetting a deleted lvstore", "lvstore", d.DeletesLvstore, "err", err)
		}
	}
	if !timedOut(callErr) {
		a.refreshAfter(ctx, req.Method, a.touchedBy(req.Method, d.Forward), res)
	}
	rec.Stage, rec.Decision, rec.Forwarded = "result", "", ""
	if callErr != nil {
		rec.Error = callErr.Error()
	} else {
		rec.Result = string(res)
	}
	if err := a.audit.write(*rec); err != nil {
		a.log.Error("audit", "err", err)
	}
	if callErr != nil {
		return nil, callErr
	}
	return res, nil
}

// undo repairs a call SPDK half applied before failing (see
// guard.Decision.Undo), while the gate is still held.
func (a *Agent) undo(ctx context.Context, method string, u *guard.Call) {
	rctx, cancel := context.WithTimeout(ctx, a.cfg.timeoutFor(u.Method))
	defer cancel()
	_, err := a.pool.CallRaw(rctx, u.Method, u.Params)
	if err != nil {
		a.log.Error("SPDK half applied a failed call and the repair failed too", "method", method, "repair", u.Method, "params", string(u.Params), "err", err)
		return
	}
	a.log.Warn("SPDK half applied a failed call; repaired", "method", method, "repair", u.Method, "params", string(u.Params))
}

// noteMetadata remembers the lvstores where a create failed for want of
// metadata pages (SPDK crashes cloning there), and forgets one when an lvol
// in it is deleted.
func (a *Agent) noteMetadata(method string, d guard.Decision, callErr error) {
	if d.Lvstore == "" {
		return
	}
	switch {
	case callErr != nil && method != "bdev_lvol_delete" && strings.Contains(callErr.Error(), "Cannot allocate memory"):
		if a.metadataFull.add(d.Lvstore) {
			a.log.Warn("lvstore out of metadata pages: clones there are refused until an lvol in it is deleted", "lvstore", d.Lvstore, "method", method)
		}
	case callErr == nil && method == "bdev_lvol_delete":
		a.metadataFull.remove(d.Lvstore)
	}
}

// rememberRatio keeps the metadata ratio of an lvstore made through the
// agent, for the guard's estimate of its metadata pages.
func (a *Agent) rememberRatio(params, res json.RawMessage) {
	var u string
	p, err := guard.ParseParams(params)
	if err != nil || json.Unmarshal(res, &u) != nil || u == "" {
		return
	}
	r, ok, err := p.Uint("num_md_pages_per_cluster_ratio")
	if !ok || err != nil {
		r = guard.DefaultMetadataRatio
	}
	a.ratios.Store(strings.ToLower(u), r)
}

func (a *Agent) metadataRatio(lvs string) (uint64, bool) {
	r, ok := a.ratios.Load(lvs)
	if !ok {
		return 0, false
	}
	return r.(uint64), true
}

// readOnlyUUID reports lvols set read-only through the agent.
func (a *Agent) readOnlyUUID(u string) bool { return a.readOnly.has(spdkrpc.LvolUUID(u)) }

// freshState reads SPDK for a decision: the three listings in flight
// together, each bounded by the call deadline. Invariant 4: while the
// lvstores the agent expects are not all back, nothing is decided.
func (a *Agent) freshState(ctx context.Context) (*guard.State, refusalFacts, bool) {
	deny := func(rule, reason string) (*guard.State, refusalFacts, bool) {
		return nil, refusalFacts{Rule: rule, Reason: reason}, false
	}
	snap := a.follower.current()
	if snap == nil || !snap.Synced {
		return deny(ruleGraphIncomplete, "the agent has not read SPDK's state since it connected")
	}
	if !snap.Complete() {
		return deny(ruleGraphIncomplete, "expected lvstores are missing: "+strings.Join(snap.Missing, ", "))
	}
	if n := snap.Graph.Len(); a.follower.cut.blocks(n) {
		// The guard decides on whole listings only; asking again would
		// make SPDK build and cut a 32 MiB answer, and break the calls
		// in flight beside it, for nothing.
		return deny(ruleGraphStale, fmt.Sprintf("SPDK cut its whole listings of this node (%d lvols) at its send buffer; guarded calls cannot be decided until the node is smaller", n))
	}
	rctx, cancel := context.WithTimeout(ctx, a.cfg.timeoutFor("bdev_get_bdevs"))
	defer cancel()
	var r guard.Read
	errs := make(chan error, 3)
	for _, q := range []struct {
		method string
		dst    *json.RawMessage
	}{{"bdev_get_bdevs", &r.Bdevs}, {"bdev_lvol_get_lvstores", &r.Lvstores}, {"bdev_lvol_get_lvols", &r.Lvols}} {
		go func() {
			res, err := a.pool.CallRaw(rctx, q.method, nil)
			if err != nil {
				err = fmt.Errorf("%s: %w", q.method, err)
			}
			*q.dst = res
			errs <- err
		}()
	}
	var first error
	for range 3 {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		if errors.Is(first, spdkrpc.ErrReplyTooLarge) {
			a.follower.cut.note(snap.Graph.Len())
		}
		return deny(ruleGraphStale, "could not read SPDK's state to decide: "+first.Error())
	}
	st, err := guard.NewState(r)
	if err != nil {
		return deny(ruleGraphStale, "SPDK's listings do not decode: "+err.Error())
	}
	a.uncertain.settle(st)
	a.lastState.Store(st)
	return st, refusalFacts{}, true
}
