package spdkserver

import (
	"context"
	"sync"
	"time"
)

// drain tracks one graceful shutdown.
type drain struct {
	idle     chan struct{} // closed once no connection is open
	idleOnce sync.Once
	over     chan struct{} // closed when Shutdown stops waiting
	overOnce sync.Once
}

// Shutdown stops the server gracefully. The listener closes at once
// (removing its socket file, so new connects fail) and no connection reads
// further requests; requests read before are still served: each connection
// closes once every answer it owes has been written. When ctx ends first,
// the remaining connections are closed as by [Server.Close] and their
// answers dropped. Shutdown waits for Serve to return and reports ctx.Err()
// when it had to cut the drain short. Calls that never answer (ErrNoReply,
// SetHang) are not waited for.
//
// Like Close, it must not be called from a Handler. After Shutdown, Serve
// returns ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	if s.shutdown == nil {
		s.shutdown = &drain{idle: make(chan struct{}), over: make(chan struct{})}
	}
	sd := s.shutdown
	if len(s.conns) == 0 {
		sd.idleOnce.Do(func() { close(sd.idle) })
	}
	ln, done := s.ln, s.done
	open := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range open {
		c.quiesce()
	}
	var err error
	select {
	case <-sd.idle:
	case <-ctx.Done():
		err = ctx.Err()
		s.closeConns()
	}
	sd.overOnce.Do(func() { close(sd.over) })
	if done != nil {
		<-done
	}
	return err
}

// quiesce makes the connection stop reading: the reader leaves and input
// not yet handled is dropped. The writer closes the connection once every
// answer owed is written.
func (c *conn) quiesce() {
	c.mu.Lock()
	if c.closed || c.quiescing {
		c.mu.Unlock()
		return
	}
	c.quiescing = true
	c.inbox = nil
	c.cond.Broadcast()
	c.mu.Unlock()
	// Wakes a reader blocked in Read; it sees quiescing and leaves.
	_ = c.nc.SetReadDeadline(time.Now())
}

// drainedLocked reports whether a quiescing connection has nothing left to
// send. The caller must hold c.mu.
func (c *conn) drainedLocked() bool {
	return c.quiescing && c.owed == 0 && !c.holding && len(c.sendQ) == 0
}

// settleLocked records that n answers owed were written or will never be
// sent. The caller must hold c.mu.
func (c *conn) settleLocked(n int) {
	c.owed -= n
	c.settled = time.Now()
	if c.owed == 0 || c.srv.limits.MaxInFlight > 0 {
		c.cond.Broadcast() // a handler loop may wait for a slot
	}
}
