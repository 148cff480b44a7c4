package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/agent/guard"
	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// cleanupParams are the params of agent_plan_cleanup and agent_apply_cleanup.
type cleanupParams struct {
	Lvstore string   `json:"lvstore"`
	Replica string   `json:"replica"`
	Keep    []string `json:"keep,omitempty"`
}

func (p cleanupParams) request(g *lvolgraph.Graph) (lvolgraph.CleanupRequest, error) {
	lvs, e := lvstoreRef(g, p.Lvstore)
	if e != nil {
		return lvolgraph.CleanupRequest{}, e
	}
	req := lvolgraph.CleanupRequest{Lvstore: lvs, Replica: p.Replica}
	for _, k := range p.Keep {
		req.Keep = append(req.Keep, lvolgraph.ParseRef(k))
	}
	return req, nil
}

func decodeCleanup(method string, raw json.RawMessage) (cleanupParams, error) {
	var p cleanupParams
	if e := decodeParams(method, raw, &p, true); e != nil {
		return p, e
	}
	if p.Lvstore == "" || p.Replica == "" {
		return p, invalidParams(method, errors.New(`"lvstore" and "replica" are required`))
	}
	return p, nil
}

// PlanReply is the answer of agent_plan_cleanup.
type PlanReply struct {
	lvolgraph.Plan
	LvstoreName spdkrpc.LvstoreName `json:"lvstore_name,omitempty"`
	// Complete is false while expected lvstores are missing; such a plan
	// is for reading only: agent_apply_cleanup refuses.
	Complete bool     `json:"complete"`
	Missing  []string `json:"missing_lvstores,omitempty"`
}

// plan runs the planner, mapping its errors to SPDK-style ones.
func plan(g *lvolgraph.Graph, method string, p cleanupParams) (lvolgraph.Plan, error) {
	req, err := p.request(g)
	if err != nil {
		return lvolgraph.Plan{}, err
	}
	pl, err := lvolgraph.PlanCleanup(g, req)
	switch {
	case err == nil:
		return pl, nil
	case errors.Is(err, lvolgraph.ErrLvstoreNotFound), errors.Is(err, lvolgraph.ErrKeepNotFound):
		return pl, &spdkrpc.Error{Code: -19, Message: fmt.Sprintf("No such device: %v", err)}
	default:
		return pl, invalidParams(method, err)
	}
}

func (a *Agent) planCleanup(_ context.Context, req *spdkserver.Request) (any, error) {
	p, err := decodeCleanup(req.Method, req.Params)
	if err != nil {
		return nil, err
	}
	snap := a.follower.current()
	if snap == nil {
		return nil, errNoGraph
	}
	pl, err := plan(snap.Graph, req.Method, p)
	if err != nil {
		return nil, err
	}
	return PlanReply{Plan: pl, LvstoreName: lvstoreName(snap, pl.Lvstore), Complete: snap.Complete(), Missing: snap.Missing}, nil
}

// lvstoreName returns the name of an lvstore in snap, or "" when it lacks it.
func lvstoreName(snap *Snapshot, u spdkrpc.LvstoreUUID) spdkrpc.LvstoreName {
	if snap == nil {
		return ""
	}
	if s, ok := snap.Graph.Lvstore(lvolgraph.UUIDRef(u)); ok {
		return s.Name
	}
	return ""
}

// CleanupReport is the answer of agent_apply_cleanup: what happened to
// every lvol of the plan, truthfully, including what someone else did
// meanwhile.
type CleanupReport struct {
	Lvstore     spdkrpc.LvstoreUUID `json:"lvstore"`
	LvstoreName spdkrpc.LvstoreName `json:"lvstore_name,omitempty"`
	Replica     string              `json:"replica"`
	Generation  uint64              `json:"generation"`
	// Deleted are the lvols this call deleted.
	Deleted []lvolgraph.Step `json:"deleted"`
	// Skipped are planned lvols that were already gone.
	Skipped []SkippedStep `json:"skipped"`
	// Protected are the lvols the plan refused to delete, and why.
	Protected []lvolgraph.Refusal `json:"protected"`
	// Stopped is set when a step was not taken because SPDK's fresh state
	// no longer allowed it, or the delete failed; later steps were not
	// attempted.
	Stopped *StoppedStep `json:"stopped,omitempty"`
}

// SkippedStep is a planned deletion that had nothing left to delete.
type SkippedStep struct {
	lvolgraph.Step
	Reason string `json:"reason"`
}

// StoppedStep is the step at which an apply stopped.
type StoppedStep struct {
	lvolgraph.Step
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason"`
}

// applyCleanup plans against a full fresh read, then deletes step by step,
// each re-checked against a targeted fresh read right before its delete.
func (a *Agent) applyCleanup(ctx context.Context, req *spdkserver.Request) (any, error) {
	p, err := decodeCleanup(req.Method, req.Params)
	if err != nil {
		return nil, err
	}
	rec := a.audit.newRecord(req.Peer, req.Method, req.Params)
	rec.Stage = "decision"
	pl, facts, err := a.freshPlan(ctx, req.Method, p)
	if err != nil {
		return nil, err
	}
	if facts.Rule != "" {
		rec.Decision, rec.Rule, rec.Reason = decisionRefused, facts.Rule, facts.Reason
		return nil, a.auditOrFail(rec, refusal(facts))
	}
	rec.Decision = decisionAllowed
	rec.Reason = fmt.Sprintf("plan of generation %d: %d to delete, %d protected", pl.Generation, len(pl.Delete), len(pl.Refused))
	if err := a.audit.write(rec); err != nil {
		return nil, errSPDKUnavailable(req.Method, err)
	}
	rep := CleanupReport{Lvstore: pl.Lvstore, LvstoreName: lvstoreName(a.follower.current(), pl.Lvstore), Replica: pl.Replica, Generation: pl.Generation,
		Deleted: []lvolgraph.Step{}, Skipped: []SkippedStep{}, Protected: pl.Refused}
	if rep.Protected == nil {
		rep.Protected = []lvolgraph.Refusal{}
	}
	for _, step := range pl.Delete {
		outcome, stop := a.applyStep(ctx, req, pl.Lvstore, step, &rep)
		if a.metrics != nil {
			a.metrics.cleanupStep(outcome)
		}
		if stop {
			break
		}
	}
	return rep, nil
}

// freshPlan plans against a full fresh read taken behind the gate, so that
// the listings are not read halfway through another caller's graph-changing
// call (which would show a transient anomaly and refuse all).
func (a *Agent) freshPlan(ctx context.Context, method string, p cleanupParams) (lvolgraph.Plan, refusalFacts, error) {
	unlock, err := a.gate.lock(ctx)
	if err != nil {
		return lvolgraph.Plan{}, refusalFacts{}, errSPDKUnavailable(method, err)
	}
	defer unlock()
	snap, facts, ok := a.freshSnapshot(ctx, method, p.Lvstore)
	if !ok {
		return lvolgraph.Plan{}, facts, nil
	}
	pl, err := plan(snap.Graph, method, p)
	return pl, refusalFacts{}, err
}

// freshSnapshot takes a full fresh read into the graph, or returns the
// refusal when the graph cannot be trusted for destructive decisions.
func (a *Agent) freshSnapshot(ctx context.Context, method, target string) (*Snapshot, refusalFacts, bool) {
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
	fresh, err := a.follower.request(rctx, nil, true)
	if err != nil {
		return deny(ruleGraphStale, "could not read SPDK's state: "+err.Error())
	}
	if !fresh.Complete() {
		return deny(ruleGraphIncomplete, "expected lvstores are missing: "+strings.Join(fresh.Missing, ", "))
	}
	return fresh, refusalFacts{}, true
}

// auditOrFail writes a refusal to the audit log and returns the refusal.
func (a *Agent) auditOrFail(rec auditRecord, refused *spdkrpc.Error) error {
	if err := a.audit.write(rec); err != nil {
		a.log.Error("audit", "err", err)
	}
	return refused
}

// applyStep takes one step behind the gate, judged by the guard on a fresh
// read like any bdev_lvol_delete. It returns the step's outcome and
// whether the apply must stop.
func (a *Agent) applyStep(ctx context.Context, req *spdkserver.Request, _ spdkrpc.LvstoreUUID, step lvolgraph.Step, rep *CleanupReport) (string, bool) {
	stopWith := func(rule, reason string) (string, bool) {
		rep.Stopped = &StoppedStep{Step: step, Rule: rule, Reason: reason}
		return "stopped", true
	}
	unlock, err := a.gate.lock(ctx)
	if err != nil {
		return stopWith("", err.Error())
	}
	defer unlock()
	st, facts, ok := a.freshState(ctx)
	if !ok {
		return stopWith(facts.Rule, facts.Reason)
	}
	params := json.RawMessage(fmt.Sprintf(`{"name":%q}`, step.UUID))
	if _, found := st.LvolForDelete(string(step.UUID)); !found {
		rep.Skipped = append(rep.Skipped, SkippedStep{Step: step, Reason: "already gone before its delete"})
		return "skipped", false
	}
	d := guard.Decide("bdev_lvol_delete", params, a.guardEnv(st))
	if !d.Allowed {
		return stopWith(d.Rule, "SPDK's fresh state no longer allows it: "+d.Reason)
	}
	rec := a.audit.newRecord(req.Peer, "bdev_lvol_delete", json.RawMessage(fmt.Sprintf(`{"name":%q}`, step.UUID)))
	rec.Stage, rec.Decision, rec.Reason = "decision", decisionAllowed, "step of "+req.Method
	if err := a.audit.write(rec); err != nil {
		return stopWith("", err.Error())
	}
	_, callErr := a.forwardGated(ctx, "bdev_lvol_delete", d.Forward, d.Touched, unlock)
	a.refreshAfter(ctx, "bdev_lvol_delete", touched{names: []string{string(step.UUID)}}, nil)
	rec.Stage, rec.Decision = "result", ""
	outcome := "deleted"
	switch {
	case callErr == nil:
		rec.Result = "true"
		rep.Deleted = append(rep.Deleted, step)
	case errors.Is(callErr, spdkrpc.ErrNotFound):
		rec.Error = callErr.Error()
		rep.Skipped = append(rep.Skipped, SkippedStep{Step: step, Reason: "already gone: SPDK answered No such device"})
		outcome = "skipped"
	default:
		rec.Error = callErr.Error()
		outcome, _ = stopWith("", "the delete failed: "+callErr.Error())
	}
	if err := a.audit.write(rec); err != nil {
		a.log.Error("audit", "err", err)
	}
	return outcome, outcome == "stopped"
}
