package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/agent/guard"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// ServeRPC answers one request on the agent's socket (spdkserver.Handler):
// agent_* methods here, everything else forwarded to SPDK, destructive
// calls through the guard. Each request runs on its own goroutine, so a slow
// call never holds up the caller's later requests, and replies go out in
// completion order as SPDK's do.
func (a *Agent) ServeRPC(ctx context.Context, req *spdkserver.Request, reply spdkserver.ReplyFunc) {
	if !a.beginCall() {
		reply(nil, &spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: "spdk-agent: shutting down"})
		return
	}
	// The call outlives the caller's connection: a delete SPDK has started
	// is finished, refreshed and audited even if the caller hangs up.
	cctx := context.WithoutCancel(ctx)
	go func() {
		defer a.endCall()
		res, err := a.recoverCall(req.Method, func() (any, error) { return a.handle(cctx, req) })
		reply(res, err)
	}()
}

// recoverCall runs f, turning a panic into an internal error for this call
// alone: one bad request must not take down the agent, and with it every
// other caller's calls and the guard. The stack goes to the log.
func (a *Agent) recoverCall(method string, f func() (any, error)) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("panic while serving a call", "method", method, "panic", p, "stack", string(debug.Stack()))
			res, err = nil, &spdkrpc.Error{Code: spdkrpc.CodeInternalError,
				Message: fmt.Sprintf("spdk-agent: internal error serving %s (see the agent's log)", method)}
		}
	}()
	return f()
}

// beginCall registers an in-flight call; false once shutdown has begun.
func (a *Agent) beginCall() bool {
	a.callMu.Lock()
	defer a.callMu.Unlock()
	if a.closing {
		return false
	}
	a.calls.Add(1)
	return true
}

func (a *Agent) endCall() { a.calls.Done() }

// drainCalls waits for in-flight calls, at most until ctx ends.
func (a *Agent) drainCalls(ctx context.Context) error {
	a.callMu.Lock()
	a.closing = true
	a.callMu.Unlock()
	done := make(chan struct{})
	go func() { a.calls.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handle routes one request and returns its result or error.
func (a *Agent) handle(ctx context.Context, req *spdkserver.Request) (any, error) {
	m := req.Method
	if strings.HasPrefix(m, "agent_") {
		return a.serveAgentMethod(ctx, req)
	}
	if m == "rpc_get_methods" {
		return a.rpcGetMethods(ctx, req.Params)
	}
	e, refused := a.classify(m)
	if err := guard.CheckNumbers(req.Params); err != nil {
		// Whatever the method: SPDK would spin decoding it.
		bad := invalidParams(m, err)
		if e.Class != guard.ReadOnly {
			a.auditRefusal(req, bad)
		}
		return nil, bad
	}
	if refused != nil {
		a.auditRefusal(req, refused)
		return nil, refused
	}
	if e.Class != guard.ReadOnly {
		if err := a.allow.checkCaller(req.Peer, m); err != nil {
			a.auditRefusal(req, err)
			return nil, err
		}
	}
	switch e.Class {
	case guard.Graph:
		return a.gated(ctx, req, e)
	case guard.ReadOnly:
		return a.forward(ctx, m, req.Params)
	}
	// Mutating outside the graph: forwarded and audited.
	rec := a.audit.newRecord(req.Peer, m, req.Params)
	rec.Stage, rec.Decision, rec.Reason = "decision", decisionAllowed, "mutating outside the volume graph"
	if err := a.audit.write(rec); err != nil {
		return nil, errSPDKUnavailable(m, err)
	}
	touched := a.touchedBy(m, req.Params)
	res, err := a.forward(ctx, m, req.Params)
	if !timedOut(err) {
		a.refreshAfter(ctx, m, touched, res)
	}
	rec.Stage, rec.Decision, rec.Reason = "result", "", ""
	if err != nil {
		rec.Error = err.Error()
	} else {
		rec.Result = string(res)
	}
	if werr := a.audit.write(rec); werr != nil {
		a.log.Error("audit", "err", werr)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// forward sends one call to SPDK through the pool. SPDK's own error objects
// are returned unchanged; the client's local refusals are given SPDK's shape.
func (a *Agent) forward(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	if d := a.cfg.timeoutFor(method); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	res, err := a.pool.CallRaw(ctx, method, params)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, errDeadline(method, a.cfg.timeoutFor(method))
	}
	if err == nil {
		return res, nil
	}
	return nil, spdkShaped(method, err)
}

// spdkShaped returns SPDK's error object when err carries one, and an error
// in SPDK's shape for failures that happened before or after SPDK.
func spdkShaped(method string, err error) error {
	var se *spdkrpc.Error
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, spdkrpc.ErrMethodNotFound):
		return &spdkrpc.Error{Code: spdkrpc.CodeMethodNotFound, Message: "Method not found"}
	case errors.Is(err, spdkrpc.ErrRequestTooLarge):
		return &spdkrpc.Error{Code: spdkrpc.CodeInvalidRequest, Message: "spdk-agent: " + err.Error()}
	}
	return errSPDKUnavailable(method, err)
}

// agentMethodNames lists the methods the agent answers itself.
func agentMethodNames() []string {
	names := make([]string, 0, len(agentMethods))
	for n := range agentMethods {
		names = append(names, n)
	}
	return names
}

// rpcGetMethods answers rpc_get_methods with SPDK's list plus the agent's own
// methods, so that clients checking the list can call agent_* methods.
// While SPDK is unreachable it answers with SPDK's last known list (for the
// same params) instead of an error: a client that caches the list at
// connect time then still calls SPDK's methods once SPDK is back. When SPDK
// never answered it, the call waits for SPDK up to its timeout, then lists
// only the agent's methods.
func (a *Agent) rpcGetMethods(ctx context.Context, params json.RawMessage) (any, error) {
	names := agentMethodNames()
	known, haveKnown := a.spdkMethods.Load(string(params))
	if haveKnown {
		// The list changes only with SPDK's build: answer at once (every
		// client asks it on connect, and must not wait on a busy or
		// stopped SPDK), and refresh it in the background.
		a.refreshMethods(params)
		spdk, _ := known.([]string)
		return sortedUnique(append(slices.Clone(spdk), names...)), nil
	}
	wait := 2 * time.Second
	if d := a.cfg.timeoutFor("rpc_get_methods"); d > 0 {
		wait = min(wait, d) // zero: no deadline configured
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	res, err := a.pool.CallRaw(ctx, "rpc_get_methods", params)
	if err != nil {
		var se *spdkrpc.Error
		if errors.As(err, &se) {
			return nil, se // SPDK's own answer, such as bad params
		}
		a.log.Debug("rpc_get_methods: SPDK unreachable, answering the agent's methods only", "err", err)
		return sortedUnique(names), nil
	}
	var spdk []string
	if json.Unmarshal(res, &spdk) != nil {
		return res, nil
	}
	a.spdkMethods.Store(string(params), spdk)
	return sortedUnique(append(slices.Clone(spdk), names...)), nil
}

// refreshMethods re-reads SPDK's method list for params in the
// background, one read at a time.
func (a *Agent) refreshMethods(params json.RawMessage) {
	if !a.methodsRefreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer a.methodsRefreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res, err := a.pool.CallRaw(ctx, "rpc_get_methods", params)
		var spdk []string
		if err == nil && json.Unmarshal(res, &spdk) == nil {
			a.spdkMethods.Store(string(params), spdk)
		}
	}()
}

// auditRefusal records a refused mutating call.
func (a *Agent) auditRefusal(req *spdkserver.Request, e *spdkrpc.Error) {
	rec := a.audit.newRecord(req.Peer, req.Method, req.Params)
	rec.Stage, rec.Decision = "decision", decisionRefused
	if f, ok := refusalOf(e); ok {
		rec.Rule, rec.Reason = f.Rule, f.Reason
	}
	if err := a.audit.write(rec); err != nil {
		a.log.Error("audit", "err", err)
	}
}

// sortedUnique sorts names and drops duplicates.
func sortedUnique(names []string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}
