package health

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Heartbeat tells whether a loop is making progress: the loop calls Beat
// once per iteration, and Check fails when the last beat is older than the
// limit. A loop stuck on a lock or a call without a deadline stops beating,
// which is what liveness is for; a loop that runs but fails (SPDK down)
// still beats.
type Heartbeat struct {
	maxAge time.Duration
	now    func() time.Time
	last   atomic.Int64 // unix nanoseconds of the last beat
}

// NewHeartbeat returns a heartbeat whose check fails when no beat came for
// maxAge. Creating it counts as a beat, so a loop has maxAge to start.
func NewHeartbeat(maxAge time.Duration) *Heartbeat {
	h := &Heartbeat{maxAge: maxAge, now: time.Now}
	h.Beat()
	return h
}

// Beat records progress.
func (h *Heartbeat) Beat() { h.last.Store(h.now().UnixNano()) }

// Last returns the time of the last beat.
func (h *Heartbeat) Last() time.Time { return time.Unix(0, h.last.Load()) }

// ErrNoHeartbeat is returned by a heartbeat check when the last beat is
// older than its limit.
var ErrNoHeartbeat = errors.New("no heartbeat")

// Run fails with ErrNoHeartbeat when the last beat is older than maxAge.
// It has the signature of Check.Run.
func (h *Heartbeat) Run(context.Context) error {
	if age := h.now().Sub(h.Last()); age > h.maxAge {
		return fmt.Errorf("%w for %v (limit %v)", ErrNoHeartbeat, age.Round(time.Millisecond), h.maxAge)
	}
	return nil
}

// Check returns a livez check named name backed by h.
func (h *Heartbeat) Check(name string) Check { return Check{Name: name, Run: h.Run} }
