package spdkserver

import (
	"errors"
	"net"
	"os"
	"time"
)

// Limits bound what one client may hold of a server. The zero value sets
// none, as spdk_tgt has none: the simulator keeps SPDK's behaviour, and the
// agent's socket, which serves many clients over few SPDK connections,
// sets them all.
type Limits struct {
	// MaxInFlight bounds the requests of one connection read and not yet
	// answered (answer written): at the bound the connection is not read
	// further, so later requests wait in the kernel's socket buffer and a
	// pipelining client is slowed down to its share.
	MaxInFlight int
	// MaxQueuedBytes bounds the answers of one connection completed and not
	// yet written: a client that does not read them is disconnected.
	MaxQueuedBytes int64
	// Budget bounds the answers completed and not yet written over all
	// connections. When it is exceeded, the connection whose answer went
	// over is disconnected if it holds more than an equal share of the
	// budget; the others are served on.
	Budget int64
	// WriteTimeout disconnects a client that takes no part of an answer
	// for this long.
	WriteTimeout time.Duration
	// IdleTimeout closes a connection that sent nothing for this long
	// while no answer was owed to it.
	IdleTimeout time.Duration
}

// writeChunk is what one write sends under a WriteTimeout, so that the
// deadline measures progress rather than the size of an answer.
const writeChunk = 256 << 10

// waitSlotLocked blocks while the connection has MaxInFlight requests
// owed, releasing the answers held meanwhile so that the owed ones can
// leave. It reports false once the connection closes or quiesces.
// The caller must hold c.mu.
func (c *conn) waitSlotLocked() bool {
	limit := c.srv.limits.MaxInFlight
	held := c.holding
	for limit > 0 && c.owed >= limit && !c.closed && !c.quiescing {
		if c.holding {
			// Answers completing while we wait must leave, or no slot frees.
			c.holding = false
			c.pending = append(c.pending, c.deferred...)
			c.deferred = nil
		}
		c.releaseLocked()
		c.cond.Wait()
	}
	c.holding = held
	return !c.closed && !c.quiescing
}

// queueLocked accounts for an answer line filed for writing and reports
// why the connection must be dropped for it, or "".
// The caller must hold c.mu.
func (c *conn) queueLocked(n int) string {
	s, l := c.srv, c.srv.limits
	c.queued += int64(n)
	total := s.queued.Add(int64(n))
	switch {
	case l.MaxQueuedBytes > 0 && c.queued > l.MaxQueuedBytes:
		return "its unread answers exceed the per-connection bound"
	case l.Budget > 0 && total > l.Budget && c.queued > l.Budget/int64(max(s.ConnCount(), 1)):
		return "its unread answers exceed its share of the server's budget"
	}
	return ""
}

// unqueueLocked accounts for n bytes of answers written or dropped.
// The caller must hold c.mu.
func (c *conn) unqueueLocked(n int64) {
	c.queued -= n
	c.srv.queued.Add(-n)
}

// QueuedBytes returns the bytes of answers completed and not yet written,
// over all connections.
func (s *Server) QueuedBytes() int64 { return s.queued.Load() }

// write sends q, in chunks under a write deadline when WriteTimeout is set.
func (c *conn) write(q [][]byte) error {
	d := c.srv.limits.WriteTimeout
	if d <= 0 {
		bufs := net.Buffers(q)
		_, err := bufs.WriteTo(c.nc)
		return err
	}
	for _, b := range q {
		for len(b) > 0 {
			n := min(len(b), writeChunk)
			if err := c.nc.SetWriteDeadline(time.Now().Add(d)); err != nil {
				return err
			}
			w, err := c.nc.Write(b[:n])
			if err != nil {
				return err
			}
			b = b[w:]
		}
	}
	return nil
}

// idleLocked reports whether a read that timed out means the connection
// is idle: nothing owed, nothing being handled, nothing unread.
// The caller must hold c.mu.
func (c *conn) idleLocked() bool {
	return c.owed == 0 && !c.holding && len(c.inbox) == 0
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
