package health

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Check is one named health check. Run returns nil when healthy, or an
// error saying why not. It must honour ctx: a check still running when its
// timeout expires is reported failed and its result is discarded.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// ErrCheckTimeout is the failure reported for a check that did not return
// within the server's check timeout.
var ErrCheckTimeout = errors.New("check timed out")

// result is the outcome of one check.
type result struct {
	name     string
	err      error // nil when healthy
	excluded bool
}

// runChecks runs checks concurrently, each with its own timeout, and
// returns their results in the order of checks. Checks named in exclude are
// not run and are reported excluded.
func runChecks(ctx context.Context, checks []Check, exclude map[string]bool, timeout time.Duration) []result {
	results := make([]result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		results[i].name = c.Name
		if exclude[c.Name] {
			results[i].excluded = true
			continue
		}
		wg.Go(func() { results[i].err = runOne(ctx, c, timeout) })
	}
	wg.Wait()
	return results
}

// runOne runs c with a timeout. The check runs in its own goroutine so that
// one that ignores its context cannot hold the probe past the timeout; that
// goroutine ends when the check returns (its channel is buffered).
func runOne(ctx context.Context, c Check, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("check panicked: %v", p)
			}
		}()
		done <- c.Run(ctx)
	}()
	select {
	case err := <-done:
		if err != nil && ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w after %v", ErrCheckTimeout, timeout)
		}
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w after %v", ErrCheckTimeout, timeout)
		}
		return ctx.Err()
	}
}
