package spdktgt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// MaxTargets is how many targets may run at once on the machine, across
// every test process: each busy-polls a core.
const MaxTargets = 2

// slotWait bounds the wait for a free slot.
const slotWait = 15 * time.Minute

// slot is a held claim on one of the machine's target slots: an exclusive
// flock on a file in the temporary directory, released by the kernel when
// the process dies, so a crashed test never keeps one.
type slot struct{ f *os.File }

// acquireSlot waits for one of MaxTargets slots.
func acquireSlot(ctx context.Context) (*slot, error) {
	ctx, cancel := context.WithTimeout(ctx, slotWait)
	defer cancel()
	for {
		for i := range MaxTargets {
			p := filepath.Join(os.TempDir(), fmt.Sprintf("spdktgt-slot-%d.lock", i))
			f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o666)
			if err != nil {
				return nil, fmt.Errorf("spdktgt: slot file: %w", err)
			}
			if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
				return &slot{f}, nil
			}
			f.Close()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("spdktgt: no free target slot (at most %d targets at once on this machine): %w", MaxTargets, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *slot) release() {
	if s != nil && s.f != nil {
		s.f.Close() // closing the last descriptor drops the flock
		s.f = nil
	}
}
