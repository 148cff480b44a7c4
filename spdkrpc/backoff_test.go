package spdkrpc

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := newBackoff(50*time.Millisecond, 2*time.Second)
	ceil := 50 * time.Millisecond
	for i := range 12 {
		d := b.delay()
		if d < ceil/2 || d > ceil {
			t.Errorf("attempt %d: delay %v outside [%v, %v]", i, d, ceil/2, ceil)
		}
		ceil = min(2*ceil, 2*time.Second)
	}
	b.reset()
	if d := b.delay(); d > 50*time.Millisecond {
		t.Errorf("after reset: %v", d)
	}
}
