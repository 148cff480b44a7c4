package agent

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/spdk-agent/spdk-agent/agent/guard"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// Removals (deletes of lvols, lvstores and bdevs) are decided in rounds:
// the removals waiting for the gate are decided one by one, in order, on
// one fresh read, and the allowed ones are sent to SPDK together. That is
// sound because a removal is allowed only when nothing stands on what it
// removes: the allowed removals of a round are independent of each other,
// and taking one away only removes dependents of the others. A removal
// refused only because of what an earlier removal of its round takes away
// (the lvols of an lvstore being deleted, a clone deleted before its
// snapshot) is decided again in the next round, as if they had run one
// after the other. N concurrent deletes thus cost a few poll periods, not N
// times several.

// maxRound bounds the removals of one round.
const maxRound = 64

// removalQueue holds the removals waiting for a round.
type removalQueue struct {
	mu      sync.Mutex // protects the fields below
	pending []*pendingRemoval
	running bool // a goroutine runs rounds until pending is empty
}

type pendingRemoval struct {
	ctx context.Context
	req *spdkserver.Request
	rec *auditRecord
	out chan removalOutcome // buffered: the round never waits on a caller
}

type removalOutcome struct {
	refused *refusalFacts // refused before any decision (no fresh read)
	err     error         // the gate or the audit log failed
	d       guard.Decision
	res     json.RawMessage
	callErr error
}

// removal queues one removal for a round and waits for its outcome.
func (a *Agent) removal(ctx context.Context, req *spdkserver.Request, rec *auditRecord) (any, error) {
	p := &pendingRemoval{ctx: ctx, req: req, rec: rec, out: make(chan removalOutcome, 1)}
	q := &a.removals
	q.mu.Lock()
	q.pending = append(q.pending, p)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go a.runRounds()
	}
	o := <-p.out
	switch {
	case o.err != nil:
		return nil, o.err
	case o.refused != nil:
		return nil, a.refuse(rec, *o.refused)
	case !o.d.Allowed:
		return nil, a.refuse(rec, factsOf(o.d))
	}
	return a.finishGated(ctx, req, rec, o.d, o.res, o.callErr)
}

// runRounds runs rounds until no removal waits.
func (a *Agent) runRounds() {
	q := &a.removals
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		first := q.pending[0]
		q.mu.Unlock()
		unlock, err := a.lockGate(first.ctx, first.req.Method)
		q.mu.Lock()
		n := min(len(q.pending), maxRound)
		round := q.pending[:n:n]
		q.pending = q.pending[n:]
		q.mu.Unlock()
		if err != nil {
			for _, p := range round {
				p.out <- removalOutcome{err: err}
			}
			continue
		}
		again := a.round(round)
		unlock()
		if len(again) > 0 {
			q.mu.Lock()
			q.pending = append(again, q.pending...)
			q.mu.Unlock()
		}
	}
}

// round decides the removals on one fresh read and sends the allowed ones
// together; it returns those to decide again in the next round.
func (a *Agent) round(round []*pendingRemoval) (again []*pendingRemoval) {
	st, facts, ok := a.freshState(round[0].ctx)
	if !ok {
		for _, p := range round {
			f := facts
			p.out <- removalOutcome{refused: &f}
		}
		return nil
	}
	env := a.guardEnv(st)
	gone := map[guard.Obj]bool{} // what this round's allowed removals take away
	type send struct {
		p *pendingRemoval
		d guard.Decision
	}
	var sends []send
	for _, p := range round {
		d := guard.Decide(p.req.Method, p.req.Params, env)
		if anyOf(d.Touched, gone) || !d.Allowed && len(d.Blockers) > 0 && allOf(d.Blockers, gone) {
			again = append(again, p)
			continue
		}
		if !d.Allowed {
			p.out <- removalOutcome{d: d}
			continue
		}
		if err := a.auditAllowed(p.rec, d); err != nil {
			p.out <- removalOutcome{err: err}
			continue
		}
		for _, o := range d.Touched {
			gone[o] = true
		}
		sends = append(sends, send{p, d})
	}
	var wg sync.WaitGroup
	for _, s := range sends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := a.forwardGated(s.p.ctx, s.p.req.Method, s.d.Forward, s.d.Touched, func() {})
			a.noteMetadata(s.p.req.Method, s.d, err)
			s.p.out <- removalOutcome{d: s.d, res: res, callErr: err}
		}()
	}
	wg.Wait()
	return again
}

func anyOf(objs []guard.Obj, set map[guard.Obj]bool) bool {
	for _, o := range objs {
		if set[o] {
			return true
		}
	}
	return false
}

func allOf(objs []guard.Obj, set map[guard.Obj]bool) bool {
	for _, o := range objs {
		if !set[o] {
			return false
		}
	}
	return true
}
