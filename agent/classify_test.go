package agent

import (
	"bufio"
	"encoding/json"
	"net"
	"strings"
	"testing"
)

// rawCall sends one request on a new connection to the agent and returns
// the error object of the answer (nil when it succeeded). The client
// package refuses methods SPDK does not list before sending them, so a
// method unknown to SPDK needs a raw connection.
func rawCall(t *testing.T, sock, method, params string) *struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
} {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := `{"jsonrpc":"2.0","id":1,"method":"` + method + `"`
	if params != "" {
		req += `,"params":` + params
	}
	if _, err := c.Write([]byte(req + "}")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var ans struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(line, &ans); err != nil {
		t.Fatalf("answer %q: %v", line, err)
	}
	return ans.Error
}

// A method the guard's table does not know (a newer SPDK's) is refused,
// as are the ones it never forwards, until an operator allows them.
func TestClassify_unknownAndRefusedMethods(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true, noDemo: true})
	for _, c := range []struct{ method, params, rule string }{
		{"bdev_frobnicate", "", "method-unknown"},
		{"spdk_kill_instance", `{"sig_name":"SIGTERM"}`, "method-refused"},
	} {
		e := rawCall(t, n.cfg.RPCSocket, c.method, c.params)
		if e == nil || e.Code != refusalCode || !strings.Contains(e.Message, "Operation not permitted: "+c.rule) {
			t.Errorf("%s = %+v, want a %s refusal", c.method, e, c.rule)
		}
	}
	m := startNode(t, nodeOpts{allowSelf: true, noDemo: true, edit: func(c *Config) { c.AllowMethods = []string{"bdev_frobnicate"} }})
	if e := rawCall(t, m.cfg.RPCSocket, "bdev_frobnicate", ""); e == nil || e.Code != -32601 {
		t.Fatalf("an allowed unknown method = %+v, want SPDK's own Method not found", e)
	}
}
