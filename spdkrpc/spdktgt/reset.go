package spdktgt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// callTimeout bounds each teardown call: a call that hangs (an esnap parent
// deleted under its clone) means the target is wedged and gets replaced.
const callTimeout = 3 * time.Second

// Reset empties the target: every lvstore, then every bdev, in an order in
// which nothing is deleted while something stands on it. A target that has
// died, does not answer, or cannot be emptied that way is restarted; what
// Reset returns is then the restart's error.
func (t *Target) Reset(ctx context.Context) error {
	if t.Alive() {
		err := t.teardown(ctx)
		t.mu.Lock()
		t.lastTeardown = err
		t.mu.Unlock()
		if err == nil {
			return nil
		}
	}
	return t.Restart(ctx)
}

// teardown deletes everything, round by round, each round what nothing
// depends on any more.
func (t *Target) teardown(ctx context.Context) error {
	c, err := t.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	for range 32 {
		st, err := readState(ctx, c)
		if err != nil {
			return err
		}
		if len(st.bdevs) == 0 && len(st.lvstores) == 0 {
			return nil
		}
		steps := st.deletable()
		if len(steps) == 0 {
			return errors.New("spdktgt: nothing left can be deleted safely")
		}
		for _, s := range steps {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			_, err := c.CallRaw(cctx, s.method, s.params)
			cancel()
			if err != nil && !errors.Is(err, spdkrpc.ErrNotFound) {
				return fmt.Errorf("spdktgt: teardown %s %s: %w", s.method, s.params, err)
			}
		}
	}
	return errors.New("spdktgt: teardown did not converge")
}

// TeardownError returns why the last Reset had to restart the target
// instead of emptying it (nil when it did not).
func (t *Target) TeardownError() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastTeardown
}

// dial connects a client to the target.
func (t *Target) dial(ctx context.Context) (*spdkrpc.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return spdkrpc.Dial(ctx, t.Socket, spdkrpc.Options{})
}

// state is what teardown needs to know of the target.
type state struct {
	lvstores []spdkrpc.Lvstore
	bdevs    []rawBdev
}

// rawBdev is a bdev with the driver details teardown reads.
type rawBdev struct {
	Name           string   `json:"name"`
	Aliases        []string `json:"aliases"`
	UUID           string   `json:"uuid"`
	ProductName    string   `json:"product_name"`
	Claimed        bool     `json:"claimed"`
	DriverSpecific struct {
		Lvol *struct {
			LvolStoreUUID        string `json:"lvol_store_uuid"`
			EsnapClone           bool   `json:"esnap_clone"`
			ExternalSnapshotName string `json:"external_snapshot_name"`
		} `json:"lvol"`
		Split *struct {
			BaseBdev string `json:"base_bdev"`
		} `json:"split"`
	} `json:"driver_specific"`
}

func readState(ctx context.Context, c *spdkrpc.Client) (state, error) {
	var st state
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := c.Call(cctx, "bdev_lvol_get_lvstores", nil, &st.lvstores); err != nil {
		return st, fmt.Errorf("spdktgt: bdev_lvol_get_lvstores: %w", err)
	}
	if err := c.Call(cctx, "bdev_get_bdevs", nil, &st.bdevs); err != nil {
		return st, fmt.Errorf("spdktgt: bdev_get_bdevs: %w", err)
	}
	return st, nil
}

// step is one teardown call.
type step struct {
	method string
	params json.RawMessage
}

func stepOf(method string, params map[string]string) step {
	b, _ := json.Marshal(params)
	return step{method, b}
}

// deletable returns the calls of one round: while lvstores remain, the
// esnap clones of lvols, else every lvstore no other lvstore is nested
// on; then every unclaimed bdev of a module it knows how to delete.
func (st state) deletable() []step {
	byUUID := map[string]rawBdev{}
	for _, b := range st.bdevs {
		byUUID[b.UUID] = b
	}
	byName := map[string]rawBdev{}
	for _, b := range st.bdevs {
		byName[b.Name] = b
	}
	if len(st.lvstores) > 0 {
		// Esnap clones of lvols go first, one by one: two lvstores may
		// read from each other, and deleting a store could delete a parent
		// before its clone (which hangs the target).
		var out []step
		for _, b := range st.bdevs {
			l := b.DriverSpecific.Lvol
			if l == nil || !l.EsnapClone {
				continue
			}
			if p, ok := byUUID[l.ExternalSnapshotName]; ok && p.DriverSpecific.Lvol != nil {
				out = append(out, stepOf("bdev_lvol_delete", map[string]string{"name": b.UUID}))
			}
		}
		if len(out) > 0 {
			return out
		}
		needed := map[string]bool{} // lvstores another lvstore is nested on
		for _, s := range st.lvstores {
			if base, ok := byName[string(s.BaseBdev)]; ok && base.DriverSpecific.Lvol != nil {
				needed[base.DriverSpecific.Lvol.LvolStoreUUID] = true
			}
		}
		for _, s := range st.lvstores {
			if !needed[string(s.UUID)] {
				out = append(out, stepOf("bdev_lvol_delete_lvstore", map[string]string{"uuid": string(s.UUID)}))
			}
		}
		return out
	}
	var out []step
	for _, b := range st.bdevs {
		if b.Claimed {
			continue
		}
		switch b.ProductName {
		case "Malloc disk":
			out = append(out, stepOf("bdev_malloc_delete", map[string]string{"name": b.Name}))
		case "AIO disk":
			out = append(out, stepOf("bdev_aio_delete", map[string]string{"name": b.Name}))
		case "passthru":
			out = append(out, stepOf("bdev_passthru_delete", map[string]string{"name": b.Name}))
		case "Raid Volume":
			out = append(out, stepOf("bdev_raid_delete", map[string]string{"name": b.Name}))
		case "Split Disk":
			if b.DriverSpecific.Split != nil {
				out = append(out, stepOf("bdev_split_delete", map[string]string{"base_bdev": b.DriverSpecific.Split.BaseBdev}))
			}
		}
	}
	return dedupe(out)
}

// dedupe drops repeated steps (every part of a split names the same base).
func dedupe(steps []step) []step {
	seen := map[string]bool{}
	out := steps[:0]
	for _, s := range steps {
		k := s.method + string(s.params)
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}
