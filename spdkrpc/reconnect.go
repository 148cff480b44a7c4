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

// stillFailingEvery is how often a client that keeps failing to connect
// says so again at warning level; the attempts in between are logged at
// debug level only. A variable for tests.
var stillFailingEvery = 30 * time.Second

// dialFailures tracks a run of failed connection attempts, so that a missing
// SPDK is reported once, then at most every stillFailingEvery, not once per
// backoff step.
type dialFailures struct {
	n int
	// since is when the run began: the first failure, or the loss of the
	// connection, which was reported already (announced).
	since, lastWarn time.Time
	announced       bool
}

// lost starts a run at a lost connection, reported by its own line.
func (d *dialFailures) lost(now time.Time) {
	*d = dialFailures{since: now, lastWarn: now, announced: true}
}

// failed logs the failure err of an attempt at now.
func (d *dialFailures) failed(c *Client, err error, now time.Time) {
	d.n++
	switch {
	case !d.announced:
		d.since, d.lastWarn, d.announced = now, now, true
		c.opts.Logger.Warn("waiting for SPDK: cannot connect; retrying until it answers", "socket", c.path, "err", err)
	case now.Sub(d.lastWarn) >= stillFailingEvery:
		d.lastWarn = now
		c.opts.Logger.Warn("still waiting for SPDK", "socket", c.path, "for", now.Sub(d.since).Round(time.Second), "attempts", d.n, "err", err)
	default:
		c.opts.Logger.Debug("cannot connect to SPDK", "socket", c.path, "err", err, "attempt", d.n)
	}
}

// waited returns how long the run lasted until now, and ends it.
func (d *dialFailures) waited(now time.Time) time.Duration {
	var w time.Duration
	if !d.since.IsZero() {
		w = now.Sub(d.since)
	}
	*d = dialFailures{}
	return w
}

// run keeps the client connected until ctx ends: dial, serve until the
// connection fails, back off, redial. A stream is never resynchronised: any
// failure drops the whole connection and fails what was in flight on it.
func (c *Client) run(ctx context.Context) {
	b := newBackoff(c.opts.MinBackoff, c.opts.MaxBackoff)
	var failures dialFailures
	for {
		cn, err := dialConn(ctx, c.path, &c.opts)
		if err != nil {
			if ctx.Err() != nil {
				c.setDown(ErrClosed)
				return
			}
			err = fmt.Errorf("connecting to %s: %w", c.path, err)
			c.setDown(err)
			failures.failed(c, err, time.Now())
			if !c.sleep(ctx, b.delay()) {
				c.setDown(ErrClosed)
				return
			}
			continue
		}
		c.setUp(cn, failures.waited(time.Now()))

		cause := c.serve(ctx, cn)
		cn.close(cause)
		if ctx.Err() != nil {
			c.setDown(ErrClosed)
			return
		}
		c.setDown(cause)
		c.opts.Logger.Warn("lost the connection to SPDK; reconnecting", "socket", c.path, "err", cause)
		failures.lost(time.Now())
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

// setUp publishes cn, made after waiting for waited. Observers hear of it
// first, so that no call on the new connection is reported before the
// connection itself.
func (c *Client) setUp(cn *conn, waited time.Duration) {
	if waited > 0 {
		c.opts.Logger.Info("connected to SPDK", "socket", c.path, "version", cn.version, "methods", len(cn.methods), "waited", waited.Round(time.Millisecond))
	} else {
		c.opts.Logger.Info("connected to SPDK", "socket", c.path, "version", cn.version, "methods", len(cn.methods))
	}
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
