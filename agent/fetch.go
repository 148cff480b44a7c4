package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// reader reads SPDK's state for the follower and the guard, and counts the
// reply bytes it received (the cost of following SPDK on the wire).
type reader struct {
	c rawCaller
	// timeout bounds each call (zero: none), so that a stopped SPDK fails
	// the follower's reads instead of holding its loop.
	timeout time.Duration
	bytes   atomic.Int64 // reply bytes received
	calls   atomic.Int64
}

// call performs one call and decodes its result into out.
func (r *reader) call(ctx context.Context, method string, params any, out any) error {
	var raw json.RawMessage
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("agent: encode %s params: %w", method, err)
		}
		raw = b
	}
	if r.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	res, err := r.c.CallRaw(ctx, method, raw)
	r.calls.Add(1)
	r.bytes.Add(int64(len(res)))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fmt.Errorf("agent: decode %s result: %w", method, err)
	}
	return nil
}

// fullState is one complete read of SPDK's lvol state.
type fullState struct {
	Lvstores []spdkrpc.Lvstore
	Lvols    []spdkrpc.Lvol
	Bdevs    []spdkrpc.Bdev
}

// readAll fetches lvstores, lvols and bdevs with the three calls in flight
// together (one SPDK poll period for all, not three).
func (r *reader) readAll(ctx context.Context) (fullState, error) {
	var st fullState
	var errs [3]error
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = r.call(ctx, "bdev_lvol_get_lvstores", nil, &st.Lvstores) })
	wg.Go(func() { errs[1] = r.call(ctx, "bdev_lvol_get_lvols", nil, &st.Lvols) })
	wg.Go(func() { errs[2] = r.call(ctx, "bdev_get_bdevs", nil, &st.Bdevs) })
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return fullState{}, fmt.Errorf("agent: full read: %w", err)
	}
	return st, nil
}

// readLvolsOf re-reads the lvols of one lvstore.
func (r *reader) readLvolsOf(ctx context.Context, lvs spdkrpc.LvstoreUUID) ([]spdkrpc.Lvol, error) {
	var out []spdkrpc.Lvol
	err := r.call(ctx, "bdev_lvol_get_lvols", map[string]string{"lvs_uuid": string(lvs)}, &out)
	return out, err
}

// maxReadsInFlight bounds the per-name reads readBdevs keeps in flight:
// enough to fill SPDK's poll with requests, few enough that a read of every
// lvol of a large node holds a bounded number of goroutines and buffers.
const maxReadsInFlight = 256

// readBdevs fetches each named bdev (a name, alias or UUID), up to
// maxReadsInFlight calls in flight together. Names SPDK does not know are
// returned in missing, not as an error: "gone since I listed it" is an
// answer (invariant 3). A bdev found under two names is returned once.
func (r *reader) readBdevs(ctx context.Context, names []string) (found []spdkrpc.Bdev, missing []string, err error) {
	type answer struct {
		bdevs []spdkrpc.Bdev
		err   error
	}
	answers := make([]answer, len(names))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(names), maxReadsInFlight) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(names) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				answers[i].err = r.call(ctx, "bdev_get_bdevs", map[string]string{"name": names[i]}, &answers[i].bdevs)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("agent: read %d bdevs: %w", len(names), err)
	}
	seen := map[spdkrpc.BdevName]bool{}
	for i, a := range answers {
		switch {
		case errors.Is(a.err, spdkrpc.ErrNotFound):
			missing = append(missing, names[i])
		case a.err != nil:
			return nil, nil, fmt.Errorf("agent: read bdev %q: %w", names[i], a.err)
		case len(a.bdevs) == 0:
			missing = append(missing, names[i])
		default:
			for _, b := range a.bdevs {
				if !seen[b.Name] {
					seen[b.Name] = true
					found = append(found, b)
				}
			}
		}
	}
	return found, missing, nil
}
