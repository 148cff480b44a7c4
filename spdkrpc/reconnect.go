package spdkrpc

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errSocketReplaced is the cause recorded when Reconnect finds a new socket
// file at the path.
var errSocketReplaced = errors.New("the socket file was replaced")

// run keeps the client connected until ctx ends: dial, serve until the
// connection fails, back off, redial. A stream is never resynchronised: any
// failure drops the whole connection and fails what was in flight on it.
func (c *Client) run(ctx context.Context) {
	b := newBackoff(c.opts.MinBackoff, c.opts.MaxBackoff)
	failures := 0
	for {
		cn, err := dialConn(ctx, c.path, &c.opts)
		if err != nil {
			if ctx.Err() != nil {
				c.setDown(ErrClosed)
				return
			}
			err = fmt.Errorf("connecting to %s: %w", c.path, err)
			c.setDown(err)
			failures++
			if failures == 1 {
				c.opts.Logger.Warn("cannot connect to SPDK; retrying", "socket", c.path, "err", err)
			} else {
				c.opts.Logger.Debug("cannot connect to SPDK", "socket", c.path, "err", err, "attempt", failures)
			}
			if !c.sleep(ctx, b.delay()) {
				c.setDown(ErrClosed)
				return
			}
			continue
		}
		failures = 0
		c.setUp(cn)

		cause := c.serve(ctx, cn)
		cn.close(cause)
		if ctx.Err() != nil {
			c.setDown(ErrClosed)
			return
		}
		c.setDown(cause)
		c.opts.Logger.Warn("lost the connection to SPDK", "socket", c.path, "err", cause)
		if c.opts.Observer != nil {
			c.opts.Observer.Disconnected(cause)
		}
		// A connection that lived long proves SPDK healthy: start the
		// backoff over. One that died at once keeps growing it, so a server
		// that accepts and drops is not hammered.
		if time.Since(cn.since) >= c.opts.MaxBackoff {
			b.reset()
		}
		if cause == errSocketReplaced {
			continue
		}
		if !c.sleep(ctx, b.delay()) {
			c.setDown(ErrClosed)
			return
		}
	}
}

// serve waits until cn fails, ctx ends, or Reconnect finds a new socket
// file, and returns the cause.
func (c *Client) serve(ctx context.Context, cn *conn) error {
	for {
		select {
		case <-cn.ch.dead:
			return cn.ch.err()
		case <-ctx.Done():
			return ErrClosed
		case <-c.kick:
			if socketReplaced(c.path, cn.file) {
				return errSocketReplaced
			}
		}
	}
}

// sleep waits for d, a Reconnect, or the end of ctx; false means ctx ended.
func (c *Client) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.kick:
		return true
	case <-ctx.Done():
		return false
	}
}

// setUp publishes cn. Observers hear of it first, so that no call on the
// new connection is reported before the connection itself.
func (c *Client) setUp(cn *conn) {
	c.opts.Logger.Info("connected to SPDK", "socket", c.path, "version", cn.version, "methods", len(cn.methods))
	if c.opts.Observer != nil {
		c.opts.Observer.Connected(cn.version)
	}
	c.mu.Lock()
	c.cur, c.lastErr, c.version = cn, nil, cn.version
	close(c.up)
	c.mu.Unlock()
}

func (c *Client) setDown(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		c.cur = nil
		c.up = make(chan struct{})
	}
	c.lastErr = cause
}
