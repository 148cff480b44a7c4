package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

func TestSocket_badParamsGetClearErrors(t *testing.T) {
	n := startNode(t, nodeOpts{})
	ctx := context.Background()
	tests := []struct {
		name     string
		method   string
		params   string
		code     int
		contains string
	}{
		{"unknown key", "agent_get_lvols", `{"lvstore":"lvs-aio","bogus":1}`, -32602, `unknown field "bogus"`},
		{"params to a method without any", "agent_get_status", `{}`, -32602, "agent_get_status method requires no parameters"},
		{"missing lvol name", "agent_get_lvol", `{}`, -32602, `"name"`},
		{"unknown lvol", "agent_get_lvol", `{"name":"lvs-aio/nope"}`, -19, `no lvol "lvs-aio/nope"`},
		{"unknown lvstore", "agent_get_lvols", `{"lvstore":"nope"}`, -19, `no lvstore "nope"`},
		{"cleanup without replica", "agent_plan_cleanup", `{"lvstore":"lvs-aio"}`, -32602, `"replica"`},
		{"cleanup of an unknown lvstore", "agent_plan_cleanup", `{"lvstore":"nope","replica":"r-1"}`, -19, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := n.via.CallRaw(ctx, tt.method, json.RawMessage(tt.params))
			var se *spdkrpc.Error
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want an SPDK-style error", err)
			}
			if se.Code != tt.code || !strings.Contains(se.Message, tt.contains) {
				t.Errorf("error = %d %q, want %d containing %q", se.Code, se.Message, tt.code, tt.contains)
			}
		})
	}
}

func TestServeRPC_unknownAgentMethod(t *testing.T) {
	n := startNode(t, nodeOpts{})
	done := make(chan error, 1)
	// Through a client the method would be refused locally (it is not in
	// rpc_get_methods); the handler must answer it the way SPDK would.
	n.agent.ServeRPC(context.Background(), &spdkserver.Request{Method: "agent_nope"}, func(_ any, err error) { done <- err })
	var se *spdkrpc.Error
	if err := <-done; !errors.As(err, &se) || se.Code != -32601 || se.Message != "Method not found" {
		t.Fatalf("agent_nope = %v, want -32601 Method not found", err)
	}
}

func TestSocket_badClientDisturbsNoOne(t *testing.T) {
	n := startNode(t, nodeOpts{})
	for _, bad := range []struct {
		name string
		send string
	}{
		{"malformed JSON", `{"jsonrpc":"2.0","id":1,"method":garbage!!}`},
		{"oversized request", `{"jsonrpc":"2.0","id":1,"method":"bdev_get_bdevs","params":{"name":"` + strings.Repeat("x", 300<<10) + `"}}`},
	} {
		t.Run(bad.name, func(t *testing.T) {
			c, err := net.Dial("unix", n.cfg.RPCSocket)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte(bad.send))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != io.EOF && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				t.Fatalf("after %s: read %q, %v; want the connection closed without a reply", bad.name, line, err)
			}
			// Everyone else, and the SPDK side, carry on.
			st := n.status(t)
			if !st.SPDK.Connected || !st.Graph.Complete {
				t.Fatalf("status after a bad client: %+v", st)
			}
			if _, err := n.via.CallRaw(context.Background(), "bdev_get_bdevs", nil); err != nil {
				t.Fatalf("forwarded call after a bad client: %v", err)
			}
		})
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

func TestAudit_recordsCallerAndResult(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	if _, err := n.via.CallRaw(context.Background(), "bdev_lvol_delete", params("name", n.demo.Orphan)); err != nil {
		t.Fatal(err)
	}
	recs := readAudit(t, n)
	var decision, result *auditRecord
	for i := range recs {
		r := &recs[i]
		if r.Method != "bdev_lvol_delete" {
			continue
		}
		switch r.Stage {
		case "decision":
			decision = r
		case "result":
			result = r
		}
	}
	if decision == nil || result == nil || decision.ID != result.ID {
		t.Fatalf("audit records = %+v, want a decision and a result with one id", recs)
	}
	if decision.UID == nil || *decision.UID != uint32(osGetuid()) || decision.PID == nil || *decision.PID == 0 {
		t.Errorf("decision record lacks the caller's credentials: %+v", decision)
	}
	if decision.Decision != decisionAllowed || result.Result != "true" {
		t.Errorf("decision %q result %q, want allowed and true", decision.Decision, result.Result)
	}
}
