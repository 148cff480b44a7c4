package spdkserver

import (
	"encoding/json"
	"errors"
	"runtime/debug"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// answer collects the answer line of one top-level value: one part for a
// single request, one per non-notification member for a batch, which SPDK
// sends as a single array once every member has answered.
type answer struct {
	c     *conn
	batch bool
	async bool // a member's method is async: see Server.SetAsync
	owes  bool // a member is not a notification: a line is owed

	mu        sync.Mutex // protects the fields below
	left      int        // members still to answer
	parts     [][]byte
	abandoned bool // a member never answers, so neither does the line
}

// replyFunc returns the ReplyFunc of one call, which applies the method's
// faults and ignores every use after the first.
func (a *answer) replyFunc(cl *call) ReplyFunc {
	var once sync.Once
	return func(result any, err error) {
		used := true
		once.Do(func() { used = false })
		if used {
			a.c.srv.log.Warn("reply called twice, ignored", "method", cl.method)
			return
		}
		a.deliver(cl, result, err)
	}
}

// deliver applies the server's faults for the method, then files the answer.
func (a *answer) deliver(cl *call, result any, err error) {
	s := a.c.srv
	var imm *immediateError
	if errors.As(err, &imm) {
		err = imm.err
		if !a.batch {
			a.mu.Lock()
			a.async = false
			a.mu.Unlock()
		}
	}
	switch {
	case errors.Is(err, ErrCrash):
		s.Crash()
		return
	case errors.Is(err, ErrNoReply):
		a.abandon()
		return
	}
	hang, delay := s.faults.get(cl.method)
	if hang {
		a.abandon()
		return
	}
	if delay <= 0 {
		a.done(cl, result, err)
		return
	}
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	// Counted while the connection is open, so Serve cannot be past Wait.
	s.wg.Go(func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			a.done(cl, result, err)
		case <-c.ctx.Done():
		}
	})
}

// abandon records that the line will never be sent, so a Shutdown does
// not wait for it.
func (a *answer) abandon() {
	a.mu.Lock()
	first := !a.abandoned
	a.abandoned = true
	a.mu.Unlock()
	if !first || !a.owes {
		return
	}
	c := a.c
	c.mu.Lock()
	c.settleLocked(1)
	c.mu.Unlock()
}

// done records one member's answer and files the line once all are in.
func (a *answer) done(cl *call, result any, err error) {
	var part []byte
	if !cl.notify {
		part = a.c.encode(cl, result, err)
	}
	a.mu.Lock()
	if part != nil {
		a.parts = append(a.parts, part)
	}
	a.left--
	last, parts, async := a.left == 0, a.parts, a.async
	a.mu.Unlock()
	if !last || len(parts) == 0 {
		return // more to come, or only notifications: nothing is sent
	}
	a.c.complete(sendBuf(a.c.srv.log, cl.method, parts, a.batch, a.c.srv.maxReply), async)
}

// encode renders the answer to cl. A result that cannot be encoded is
// answered with an internal error rather than left unanswered.
func (c *conn) encode(cl *call, result any, err error) []byte {
	out, eerr := encodeReply(cl.replyID(), result, err)
	if eerr == nil {
		return out
	}
	c.srv.log.Error("cannot encode answer", "method", cl.method, "err", eerr)
	out, _ = encodeReply(cl.replyID(), nil, &spdkrpc.Error{
		Code:    spdkrpc.CodeInternalError,
		Message: "Internal error",
		Data:    mustJSON(eerr.Error()),
	})
	return out
}

func mustJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// serve calls the handler. A handler that panics answers that call with an
// internal error (a second reply, if it had answered, is ignored) and the
// connection and server go on: one bad request must not end every other
// caller's session.
func (c *conn) serve(req *Request, reply ReplyFunc) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.log.Error("handler panicked", "method", req.Method, "panic", p, "stack", string(debug.Stack()))
			reply(nil, &spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: "Internal error"})
		}
	}()
	c.srv.h.ServeRPC(c.ctx, req, reply)
}
