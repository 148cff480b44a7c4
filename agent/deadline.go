package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/agent/guard"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// codeTimedOut is -ETIMEDOUT, in SPDK's errno style.
const codeTimedOut = -110

// lateLimit is how long the agent still listens for SPDK's answer to a
// call whose caller was already told it timed out: the answer settles the
// objects the call left uncertain.
const lateLimit = 10 * time.Minute

// errDeadline is the answer to a call SPDK did not answer in time.
func errDeadline(method string, d time.Duration) *spdkrpc.Error {
	return &spdkrpc.Error{Code: codeTimedOut, Message: fmt.Sprintf(
		"Connection timed out: spdk-agent: SPDK did not answer %s within %v; the objects it names are uncertain until SPDK answers it or a fresh read shows them gone", method, d)}
}

// forwardGated forwards an allowed graph-changing call with its deadline.
// Past the deadline the caller gets an error at once, the gate is released
// (unlock), and the objects the call touched are uncertain: the guard
// refuses graph-changing calls on them until SPDK answers the call late, or
// a fresh read shows them gone.
func (a *Agent) forwardGated(ctx context.Context, method string, params json.RawMessage, touched []guard.Obj, unlock func()) (json.RawMessage, error) {
	d := a.cfg.timeoutFor(method)
	if d == 0 {
		res, err := a.pool.CallRaw(ctx, method, params)
		return res, shapedOrNil(method, err)
	}
	type result struct {
		res json.RawMessage
		err error
	}
	done := make(chan result, 1)
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lateLimit)
	go func() {
		defer cancel()
		res, err := a.pool.CallRaw(lctx, method, params)
		done <- result{res, err}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.res, shapedOrNil(method, r.err)
	case <-timer.C:
	}
	a.uncertain.add(touched)
	a.log.Warn("SPDK did not answer a guarded call in time; its objects are uncertain", "method", method, "deadline", d, "objects", touched)
	unlock()
	go func() {
		r := <-done
		if errors.Is(r.err, context.DeadlineExceeded) {
			// Still unanswered: only a fresh read that shows the objects
			// gone settles them now.
			a.log.Error("SPDK never answered a guarded call", "method", method, "objects", touched)
			return
		}
		a.uncertain.done(touched)
		a.log.Info("SPDK answered a guarded call late", "method", method, "objects", touched, "err", r.err)
		rctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		if _, err := a.follower.request(rctx, nil, true); err != nil {
			a.log.Warn("refresh after a late answer", "method", method, "err", err)
		}
	}()
	return nil, errDeadline(method, d)
}

// timedOut reports whether err is the agent's deadline error: SPDK did not
// answer, so reading it again now would only wait as long.
func timedOut(err error) bool {
	var se *spdkrpc.Error
	return errors.As(err, &se) && se.Code == codeTimedOut
}

func shapedOrNil(method string, err error) error {
	if err == nil {
		return nil
	}
	return spdkShaped(method, err)
}

// uncertainSet holds the objects of guarded calls that SPDK did not answer
// in time, with how many such calls each has.
type uncertainSet struct {
	mu sync.Mutex // protects m
	m  map[guard.Obj]int
}

func newUncertainSet() *uncertainSet { return &uncertainSet{m: map[guard.Obj]int{}} }

func (u *uncertainSet) has(o guard.Obj) bool {
	if u == nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.m[o] > 0
}

func (u *uncertainSet) add(objs []guard.Obj) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, o := range objs {
		u.m[o]++
	}
}

func (u *uncertainSet) done(objs []guard.Obj) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, o := range objs {
		if u.m[o]--; u.m[o] <= 0 {
			delete(u.m, o)
		}
	}
}

// settle forgets the uncertain objects a fresh read no longer lists: the
// call that left them uncertain removed them, or something else did.
func (u *uncertainSet) settle(st *guard.State) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for o := range u.m {
		if !st.Has(o) {
			delete(u.m, o)
		}
	}
}

// list returns the uncertain objects, for the status.
func (u *uncertainSet) list() []string {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, 0, len(u.m))
	for o := range u.m {
		out = append(out, string(o))
	}
	slices.Sort(out)
	return out
}

// storeSet is a set of lvstore UUIDs safe for concurrent use.
type storeSet struct {
	mu sync.Mutex // protects m
	m  map[string]bool
}

func (s *storeSet) has(u string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[u]
}

// add reports whether u was new.
func (s *storeSet) add(u string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]bool{}
	}
	was := s.m[u]
	s.m[u] = true
	return !was
}

func (s *storeSet) remove(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, u)
}
