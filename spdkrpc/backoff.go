package spdkrpc

import (
	"math/rand/v2"
	"time"
)

// backoff yields redial delays: exponential from min to max with "full
// jitter" (uniform in [d/2, d]), so that agents restarted together do not
// redial in lockstep after SPDK comes back.
type backoff struct {
	min, max time.Duration
	next     time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff {
	return &backoff{min: lo, max: hi, next: lo}
}

// delay returns the next delay and doubles the one after it, up to max.
func (b *backoff) delay() time.Duration {
	d := b.next
	b.next = min(2*b.next, b.max)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(d-half+1)
}

// reset starts over from min.
func (b *backoff) reset() { b.next = b.min }
