package spdkserver

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

const (
	readSize = 64 << 10
	// inboxMax bounds what the reader takes from the socket before the
	// handling side catches up, so a flooding client meets backpressure.
	inboxMax = 64 << 10
)

// conn serves one client with three goroutines: the reader moves bytes from
// the socket to the inbox, the handler loop (poll.go) cuts the inbox into
// requests and calls the Handler, and the writer sends released answers in
// order.
//
// Answers pass through three lists. pending holds those completed but not
// yet released; deferred holds answers of async methods that completed while
// a chunk of input was being handled (they go after the answers of that
// chunk); sendQ holds what the writer sends next. Answers are released when
// a chunk has been handled, at a poll tick, or at once when neither polling
// nor handling holds them back.
type conn struct {
	srv    *Server
	nc     net.Conn
	ctx    context.Context // cancelled when the connection closes
	cancel context.CancelFunc
	peer   PeerCred
	split  Splitter      // used by the handler loop only
	input  chan struct{} // a token when the inbox has news

	mu   sync.Mutex // protects the fields below
	cond *sync.Cond // signals the reader and the writer; uses mu
	// settled is when an answer was last written or given up: the idle
	// timeout counts from it, so a read deadline that falls due at the
	// moment of an answer does not close the connection.
	settled  time.Time
	inbox    []byte
	eof      bool // the reader saw the end of the stream
	holding  bool // a chunk of input is being handled
	pending  [][]byte
	deferred [][]byte
	sendQ    [][]byte
	drain    bool // close once sendQ is written
	closed   bool
	queued   int64 // bytes of answers filed and not yet written
	// owed counts the top-level requests handled whose answer line is not
	// written yet; quiescing (Server.Shutdown) stops reading and closes the
	// connection when owed drops to zero.
	owed      int
	quiescing bool
}

func newConn(ctx context.Context, s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, peer: peerCred(nc), input: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.cond = sync.NewCond(&c.mu)
	return c
}

// start launches the connection's goroutines; the caller holds s.mu, so
// that Serve's Wait cannot run between the check and the Add.
func (c *conn) start() {
	c.srv.log.Debug("connection open", "pid", c.peer.PID, "uid", c.peer.UID)
	c.srv.wg.Add(3)
	go c.readLoop()
	go c.handleLoop()
	go c.writeLoop()
}

// close ends the connection: answers not yet written are dropped and the
// handlers' context is cancelled. It is safe to call more than once.
func (c *conn) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.unqueueLocked(c.queued)
	c.pending, c.deferred, c.sendQ, c.inbox = nil, nil, nil, nil
	c.cond.Broadcast()
	c.mu.Unlock()
	c.cancel()
	c.nc.Close()
	c.srv.forget(c)
	c.srv.log.Debug("connection closed", "pid", c.peer.PID)
}

func (c *conn) readLoop() {
	defer c.srv.wg.Done()
	buf := make([]byte, readSize)
	for {
		c.mu.Lock()
		for len(c.inbox) >= inboxMax && !c.closed && !c.quiescing {
			c.cond.Wait()
		}
		stop := c.closed || c.quiescing
		if idle := c.srv.limits.IdleTimeout; idle > 0 && !stop {
			// Set under c.mu, so that a quiesce's deadline comes after.
			_ = c.nc.SetReadDeadline(time.Now().Add(idle))
		}
		c.mu.Unlock()
		if stop {
			return
		}
		n, err := c.nc.Read(buf)
		c.mu.Lock()
		if c.quiescing {
			c.mu.Unlock()
			return // what arrived now is not served
		}
		c.inbox = append(c.inbox, buf[:n]...)
		if err != nil && isTimeout(err) && !c.closed {
			idle := n == 0 && c.idleLocked() && time.Since(c.settled) >= c.srv.limits.IdleTimeout
			c.mu.Unlock()
			if idle {
				c.srv.log.Debug("closing an idle connection", "pid", c.peer.PID, "after", c.srv.limits.IdleTimeout)
				c.close()
				return
			}
			c.notify()
			continue // a call is in flight: the client waits for it
		}
		if err != nil {
			c.eof = true
			if !errors.Is(err, io.EOF) && !c.closed {
				c.srv.log.Debug("read failed", "err", err)
			}
		}
		c.mu.Unlock()
		c.notify()
		if err != nil {
			return
		}
	}
}

// notify tells the handler loop that the inbox changed.
func (c *conn) notify() {
	select {
	case c.input <- struct{}{}:
	default:
	}
}

// takeInput empties the inbox.
func (c *conn) takeInput() (chunk []byte, eof bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.quiescing {
		return nil, false
	}
	chunk, c.inbox = c.inbox, nil
	c.cond.Broadcast()
	return chunk, c.eof
}

func (c *conn) writeLoop() {
	defer c.srv.wg.Done()
	for {
		c.mu.Lock()
		for len(c.sendQ) == 0 && !c.drain && !c.closed && !c.drainedLocked() {
			c.cond.Wait()
		}
		q := c.sendQ
		n := len(q)
		c.sendQ = nil
		closed, done := c.closed, c.drain || c.drainedLocked()
		c.mu.Unlock()
		if closed {
			return
		}
		if n > 0 {
			var sent int64 // counted first: writing consumes q
			for _, b := range q {
				sent += int64(len(b))
			}
			if err := c.write(q); err != nil {
				if isTimeout(err) {
					c.srv.log.Warn("disconnecting a client that does not read its answers", "pid", c.peer.PID, "uid", c.peer.UID, "after", c.srv.limits.WriteTimeout)
				} else {
					c.srv.log.Debug("write failed", "err", err)
				}
				c.close()
				return
			}
			c.mu.Lock()
			if !c.closed { // close gave back what was queued
				c.unqueueLocked(sent)
			}
			c.settleLocked(n)
			c.mu.Unlock()
			continue
		}
		if done {
			c.close()
			return
		}
	}
}

// complete files a finished answer line (newline included). Answers of
// async methods that finish while their chunk is still being handled wait
// for the end of that chunk.
func (c *conn) complete(line []byte, async bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if why := c.queueLocked(len(line)); why != "" {
		queued := c.queued
		c.mu.Unlock()
		c.srv.log.Warn("disconnecting a client that does not read its answers: "+why, "pid", c.peer.PID, "uid", c.peer.UID, "queued", queued)
		c.close()
		return
	}
	defer c.mu.Unlock()
	if c.srv.limits.MaxInFlight > 0 {
		c.cond.Broadcast() // a handler loop waiting for a slot releases it
	}
	switch {
	case async && c.holding:
		c.deferred = append(c.deferred, line)
		return
	}
	c.pending = append(c.pending, line)
	if !c.holding && c.srv.pollInterval() == 0 {
		c.releaseLocked()
	}
}

// releaseLocked hands every pending answer to the writer.
// The caller must hold c.mu.
func (c *conn) releaseLocked() {
	if len(c.pending) == 0 {
		return
	}
	c.sendQ = append(c.sendQ, c.pending...)
	c.pending = nil
	c.cond.Broadcast()
}

func (c *conn) release() {
	c.mu.Lock()
	c.releaseLocked()
	c.mu.Unlock()
}

// hold starts handling a chunk: answers completed meanwhile are kept back.
func (c *conn) hold() {
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// unhold ends handling a chunk: the deferred async answers join the pending
// ones after the chunk's own, and all are released unless polling sends
// them at the next tick.
func (c *conn) unhold(release bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	c.pending = append(c.pending, c.deferred...)
	c.deferred = nil
	if release {
		c.releaseLocked()
	}
	c.cond.Broadcast() // a quiescing writer may be done now
}

// finish ends the connection after the client closed its side: answers
// already released are still written, later ones are dropped.
func (c *conn) finish() {
	c.mu.Lock()
	c.releaseLocked()
	c.drain = true
	c.cond.Broadcast()
	c.mu.Unlock()
}
