package spdkserver

import (
	"time"
)

// handleLoop cuts input into requests and calls the Handler, in one of two
// modes chosen afresh on every round, so SetPollInterval applies at once:
//
//   - without polling, each batch of bytes from the reader is handled as
//     soon as it arrives and answers are released when it is done;
//   - with polling, it wakes every interval like SPDK's RPC poller: it
//     first releases the answers completed since the last tick, then
//     handles what arrived; answers to that input leave at the next tick.
//
// The first mode is SPDK without its fixed latency; the second reproduces
// the two-periods-per-call cost and the pipelining gain of a real target.
func (c *conn) handleLoop() {
	defer c.srv.wg.Done()
	// A ticker keeps the poller's phase: a tick that runs late does not
	// push the later ones back, as a timer reset after each round would.
	var (
		tick   *time.Ticker
		tickIv time.Duration
		tickC  <-chan time.Time
	)
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		changed := c.srv.pollChanged()
		iv := c.srv.pollInterval()
		switch {
		case iv <= 0:
			c.release() // answers held by a poller that was just turned off
			select {
			case <-c.input:
			case <-changed:
				continue
			case <-c.ctx.Done():
				return
			}
		default:
			if tick == nil {
				tick = time.NewTicker(iv)
				tickC = tick.C
			} else if iv != tickIv {
				tick.Reset(iv)
			}
			tickIv = iv
			select {
			case <-tickC:
			case <-changed:
				continue
			case <-c.ctx.Done():
				return
			}
			c.release()
		}
		chunk, eof := c.takeInput()
		if len(chunk) > 0 && !c.handleChunk(chunk, iv <= 0) {
			return
		}
		if eof {
			c.finish()
			return
		}
	}
}

// handleChunk feeds bytes to the splitter and serves every request they
// complete. On a framing error it closes the connection, and the answers of
// the chunk's earlier requests are lost with it, as on spdk_tgt. It reports
// whether the connection is still open.
func (c *conn) handleChunk(chunk []byte, release bool) bool {
	c.split.Write(chunk)
	c.hold()
	for {
		v, err := c.split.Next()
		if err != nil {
			c.srv.log.Info("closing connection on a framing error", "pid", c.peer.PID, "err", err)
			c.close()
			return false
		}
		if v == nil {
			break
		}
		c.mu.Lock()
		open := c.waitSlotLocked()
		c.mu.Unlock()
		if !open {
			return false
		}
		c.dispatch(v)
		if c.ctx.Err() != nil {
			return false // a handler crashed the server or dropped us
		}
	}
	c.unhold(release)
	return true
}

// dispatch serves one top-level value: one request or a batch.
func (c *conn) dispatch(v []byte) {
	calls, batch := decodeMessage(v)
	a := &answer{c: c, batch: batch, left: len(calls)}
	for i := range calls {
		if c.srv.isAsync(calls[i].method) {
			a.async = true
		}
		if !calls[i].notify {
			a.owes = true
		}
	}
	if a.owes {
		c.mu.Lock()
		c.owed++
		c.mu.Unlock()
	}
	for i := range calls {
		cl := &calls[i]
		if cl.invalid {
			a.done(cl, nil, invalidRequest)
			continue
		}
		req := &Request{Method: cl.method, Params: cl.params, Notification: cl.notify, Peer: c.peer}
		c.serve(req, a.replyFunc(cl))
	}
}
