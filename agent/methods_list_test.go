package agent

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// TestRPCGetMethods_spdkUnreachable checks that a client connecting while
// SPDK is down still learns SPDK's methods (the last known list), so that
// it does not refuse them once SPDK is back.
func TestRPCGetMethods_spdkUnreachable(t *testing.T) {
	n := startNode(t, nodeOpts{})
	if !n.via.HasMethod("bdev_get_bdevs") || !n.via.HasMethod("agent_get_status") {
		t.Fatal("with SPDK up, the list lacks bdev_get_bdevs or agent_get_status")
	}
	n.sim.Crash()
	n.waitFor(t, "disconnected", func(s Status) bool { return !s.SPDK.Connected })
	ctx := context.Background()
	c, err := spdkrpc.Dial(ctx, n.cfg.RPCSocket, spdkrpc.Options{})
	if err != nil {
		t.Fatalf("connect while SPDK is down: %v", err)
	}
	defer c.Close()
	for _, m := range []string{"bdev_get_bdevs", "bdev_lvol_delete", "agent_get_status"} {
		if !c.HasMethod(m) {
			t.Errorf("connected while SPDK was down: %s not listed", m)
		}
	}
	// SPDK never answered these params: only the agent's methods.
	raw, err := c.CallRaw(ctx, "rpc_get_methods", json.RawMessage(`{"current":true}`))
	if err != nil {
		t.Fatalf("rpc_get_methods {current:true} while SPDK is down: %v", err)
	}
	var got []string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if want := agentMethodNames(); !slices.Equal(got, sortedUnique(want)) {
		t.Errorf("never-answered params: got %q, want the agent's methods %q", got, want)
	}
}
