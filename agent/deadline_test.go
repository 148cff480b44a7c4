package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func codeOf(err error) int {
	var se *spdkrpc.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// A stopped SPDK (SIGSTOP on a real target, every listing hung on the
// simulator) costs callers their deadline, not forever, and holds nothing:
// once SPDK runs again a guarded delete goes through.
func TestRealAndSim_deadlineOnAStoppedSPDK(t *testing.T) { backends(t, deadlineOnAStoppedSPDK) }

func deadlineOnAStoppedSPDK(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{allowSelf: true, real: real, edit: func(c *Config) { c.CallTimeout = 300 * time.Millisecond }})
	ctx := context.Background()
	stop, resume := func() {
		for _, m := range []string{"spdk_get_version", "bdev_get_bdevs", "bdev_lvol_get_lvols", "bdev_lvol_get_lvstores"} {
			n.sim.SetHang(m, true)
		}
	}, func() { n.sim.ClearFaults() }
	if real {
		pid := n.tgt.PID()
		stop = func() { syscall.Kill(pid, syscall.SIGSTOP) }
		resume = func() { syscall.Kill(pid, syscall.SIGCONT) }
	}
	stop()
	t.Cleanup(resume)
	if _, err := n.via.CallRaw(ctx, "spdk_get_version", nil); codeOf(err) != codeTimedOut {
		t.Fatalf("spdk_get_version on a stopped SPDK = %v, want code %d", err, codeTimedOut)
	}
	_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan))
	refusedWith(t, err, ruleGraphStale)
	resume()
	n.waitFor(t, "SPDK answering again", func(s Status) bool { return s.SPDK.Connected })
	if _, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan)); err != nil {
		t.Fatalf("delete once SPDK runs again: %v", err)
	}
	if n.lvolExists(t, n.demo.Orphan) {
		t.Fatal("the orphan is still there")
	}
}

// A guarded call SPDK never answers releases the gate at its deadline and
// leaves what it touched uncertain: graph-changing calls on that lvol are
// refused, others go through, and the mark goes when the call ends.
func TestGuard_unansweredCallLeavesItsLvolUncertain(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true, edit: func(c *Config) { c.CallTimeout = 200 * time.Millisecond }})
	ctx := context.Background()
	last := n.demo.Volumes[len(n.demo.Volumes)-1]
	vol := last.Chain[len(last.Chain)-1]
	n.sim.SetHang("bdev_lvol_resize", true)
	_, err := n.via.CallRaw(ctx, "bdev_lvol_resize", json.RawMessage(fmt.Sprintf(`{"name":%q,"size_in_mib":128}`, vol)))
	if codeOf(err) != codeTimedOut {
		t.Fatalf("hung resize = %v, want code %d", err, codeTimedOut)
	}
	st := n.status(t)
	if len(st.Uncertain) != 1 {
		t.Fatalf("uncertain = %v, want the resized lvol", st.Uncertain)
	}
	_, err = n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", vol))
	refusedWith(t, err, "uncertain")
	if _, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan)); err != nil {
		t.Fatalf("a delete of another lvol after the deadline: %v", err)
	}
	// SPDK drops the connection the call was on: the call is over.
	n.sim.ClearFaults()
	n.sim.DropConnections()
	n.waitFor(t, "the mark gone", func(s Status) bool { return len(s.Uncertain) == 0 })
}

// A number SPDK's decoder would spin on (0e7777777777777777 multiplies
// zero by ten that many times) never reaches SPDK, whatever the method.
func TestRealAndSim_numberSPDKWouldSpinOn(t *testing.T) { backends(t, numberSPDKWouldSpinOn) }

func numberSPDKWouldSpinOn(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{allowSelf: true, real: real, noDemo: true})
	ctx := context.Background()
	for _, c := range []struct{ method, params string }{
		{"bdev_get_bdevs", `{"name":"x","timeout":0e7777777777777777}`},
		{"bdev_malloc_create", `{"name":"z","num_blocks":0e7777777777777777,"block_size":512}`},
	} {
		_, err := n.via.CallRaw(ctx, c.method, json.RawMessage(c.params))
		if codeOf(err) != spdkrpc.CodeInvalidParams {
			t.Errorf("%s %s = %v, want invalid params", c.method, c.params, err)
		}
	}
	if _, err := n.spdk.CallRaw(ctx, "spdk_get_version", nil); err != nil {
		t.Fatalf("SPDK after the calls: %v", err)
	}
}
