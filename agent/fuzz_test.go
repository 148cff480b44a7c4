package agent

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// FuzzAgentQueries feeds arbitrary params to the agent's query methods on
// the demo node's graph: every answer is a result or an SPDK-style error,
// never a panic.
func FuzzAgentQueries(f *testing.F) {
	for _, seed := range []string{``, `{}`, `null`, `[]`, `"x"`, `{"lvstore":"lvs-aio"}`, `{"name":"lvs-aio/r-20"}`,
		`{"lvstore":"lvs-malloc","replica":"r-10","keep":["r-10"]}`, `{"name":5}`, `{"lvstore":"lvs-aio"}{}`, `{"a":`} {
		f.Add(uint8(0), seed)
	}
	fl := demoFollower(f, 3)
	ctx := context.Background()
	a := &Agent{cfg: Config{}.withDefaults(), follower: fl}
	methods := []string{"agent_get_status", "agent_get_lvstores", "agent_get_lvols", "agent_get_lvol", "agent_get_graph", "agent_plan_cleanup"}
	f.Fuzz(func(t *testing.T, m uint8, params string) {
		method := methods[int(m)%len(methods)]
		req := &spdkserver.Request{Method: method, Params: json.RawMessage(params)}
		res, err := a.serveAgentMethod(ctx, req)
		if err != nil {
			var se *spdkrpc.Error
			if !errors.As(err, &se) || se.Message == "" {
				t.Fatalf("%s %q: error %v is not SPDK-style", method, params, err)
			}
			return
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("%s %q: result does not encode: %v", method, params, err)
		}
	})
}
