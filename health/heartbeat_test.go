package health

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hb := NewHeartbeat(10 * time.Second)
		ctx := context.Background()
		if err := hb.Run(ctx); err != nil {
			t.Fatalf("fresh heartbeat: %v", err)
		}
		time.Sleep(10 * time.Second)
		if err := hb.Run(ctx); err != nil {
			t.Errorf("at exactly the limit: %v, want healthy", err)
		}
		time.Sleep(time.Second)
		err := hb.Run(ctx)
		if !errors.Is(err, ErrNoHeartbeat) {
			t.Fatalf("11 s without a beat: %v, want ErrNoHeartbeat", err)
		}
		if want := "no heartbeat for 11s (limit 10s)"; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		hb.Beat()
		if err := hb.Run(ctx); err != nil {
			t.Errorf("after a beat: %v", err)
		}
	})
}

// TestHeartbeat_stuckLoopIsNotLive runs a loop that beats until it blocks,
// as a refresh loop stuck on a call without a deadline would.
func TestHeartbeat_stuckLoopIsNotLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hb := NewHeartbeat(30 * time.Second)
		s := NewServer(Options{Livez: []Check{hb.Check("refresh-loop")}})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		block := make(chan struct{})
		go func() {
			for i := 0; ; i++ {
				hb.Beat()
				if i == 3 {
					select {
					case <-block:
					case <-ctx.Done():
						return
					}
				}
				select {
				case <-time.After(5 * time.Second):
				case <-ctx.Done():
					return
				}
			}
		}()
		live := func() bool {
			res := runChecks(ctx, s.opts.Livez, nil, time.Second)
			return res[0].err == nil
		}
		time.Sleep(20 * time.Second)
		if !live() {
			t.Error("a beating loop is not live")
		}
		time.Sleep(31 * time.Second)
		if live() {
			t.Error("a loop stuck for 36 s is live")
		}
		close(block)
		time.Sleep(6 * time.Second)
		if !live() {
			t.Error("the loop beats again but is not live")
		}
		cancel()
		synctest.Wait()
	})
}
