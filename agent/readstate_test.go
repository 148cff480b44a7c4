package agent

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// lvolAliases lists SPDK's lvols by alias, from bdev_lvol_get_lvols (which
// stays under a lowered send buffer where bdev_get_bdevs does not).
func lvolAliases(t *testing.T, n *node) []string {
	t.Helper()
	ls, err := n.spdk.GetLvols(context.Background(), spdkrpc.LvstoreID{})
	if err != nil {
		t.Fatalf("bdev_lvol_get_lvols: %v", err)
	}
	var out []string
	for _, l := range ls {
		out = append(out, string(l.Alias))
	}
	slices.Sort(out)
	return out
}

// agentAliases lists the agent's lvols by alias.
func agentAliases(t *testing.T, n *node) []string {
	t.Helper()
	var raw json.RawMessage
	if err := n.via.Call(context.Background(), "agent_get_lvols", nil, &raw); err != nil {
		t.Fatalf("agent_get_lvols: %v", err)
	}
	var rep struct {
		Lvols []struct {
			Alias string `json:"alias"`
		} `json:"lvols"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("agent_get_lvols: %v", err)
	}
	var out []string
	for _, l := range rep.Lvols {
		out = append(out, l.Alias)
	}
	slices.Sort(out)
	return out
}

// On a node whose whole bdev listing SPDK cuts (the simulator's send
// buffer lowered to 8 KiB, below the demo node's 20 KB of bdevs), the
// follower reads in parts and builds the complete graph; the guard, which
// decides on whole listings, refuses with the reason instead of deciding
// on a cut one, and SPDK is left as it was.
func TestFollow_cutListingIsReadInParts(t *testing.T) {
	n := startNode(t, nodeOpts{maxReply: 8 << 10, allowSelf: true})
	ctx := context.Background()
	want := lvolAliases(t, n)
	if got := agentAliases(t, n); !slices.Equal(got, want) || len(want) == 0 {
		t.Fatalf("the agent's lvols:\n%v\nSPDK's:\n%v", got, want)
	}
	if st := n.status(t); !st.Graph.Complete || len(st.Graph.Anomalies) > 0 || !st.Graph.ReadInParts {
		t.Fatalf("graph: %+v, want complete and read in parts", st.Graph)
	}
	for range 2 { // the second is refused without a read
		_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.SharedImage))
		f := refusedWith(t, err, ruleGraphStale)
		if !strings.Contains(f.Reason, "send buffer") {
			t.Errorf("refusal reason %q does not name the cut", f.Reason)
		}
	}
	if got := lvolAliases(t, n); !slices.Equal(got, want) {
		t.Fatalf("SPDK's lvols after refused deletes:\n%v\nbefore:\n%v", got, want)
	}
	// Calls the guard does not decide pass through; changes are followed.
	if _, err := n.via.CallRaw(ctx, "bdev_lvol_create", json.RawMessage(`{"lvs_name":"lvs-malloc","lvol_name":"fresh","size_in_mib":4,"thin_provision":true}`)); err != nil {
		t.Fatal(err)
	}
	n.waitFor(t, "the new lvol", func(s Status) bool { return s.Graph.Lvols == len(want)+1 })
}

func TestRealAndSim_readInPartsFollowsTheNode(t *testing.T) {
	backends(t, readInPartsFollowsTheNode)
}

// With every full sync read in parts, the agent's graph is SPDK's, and a
// full sync after direct changes finds them.
func readInPartsFollowsTheNode(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{real: real, allowSelf: true, edit: func(c *Config) { c.ReadInPartsAbove = 1 }})
	ctx := context.Background()
	want := lvolAliases(t, n)
	if got := agentAliases(t, n); !slices.Equal(got, want) {
		t.Fatalf("the agent's lvols:\n%v\nSPDK's:\n%v", got, want)
	}
	if st := n.status(t); !st.Graph.Complete || len(st.Graph.Anomalies) > 0 {
		t.Fatalf("graph: %+v", st.Graph)
	}
	if !n.status(t).Graph.ReadInParts {
		t.Fatal("the status says full syncs read whole listings, want parts")
	}
	// A change made on SPDK directly, then a full sync.
	if _, err := n.spdk.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.agent.follower.request(ctx, nil, true); err != nil {
		t.Fatal(err)
	}
	want = lvolAliases(t, n)
	if got := agentAliases(t, n); !slices.Equal(got, want) {
		t.Fatalf("after a direct delete and a full sync, the agent's lvols:\n%v\nSPDK's:\n%v", got, want)
	}
	// The guard still decides (it reads whole listings of its own).
	_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.SharedImage))
	refusedWith(t, err, "backing-image")
}

func TestRetryDelay(t *testing.T) {
	var got []time.Duration
	for i := 1; i <= 10; i++ {
		got = append(got, retryDelay(i))
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond,
		3200 * time.Millisecond, 6400 * time.Millisecond, 12800 * time.Millisecond, 25600 * time.Millisecond, 30 * time.Second, 30 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{context.DeadlineExceeded, false},
		{spdkrpc.ErrDisconnected, false},
		{errors.Join(spdkrpc.ErrDisconnected, spdkrpc.ErrReplyTooLarge), true},
		{&spdkrpc.Error{Code: -32603, Message: "Internal error"}, true},
	} {
		if got := costly(tc.err); got != tc.want {
			t.Errorf("costly(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
