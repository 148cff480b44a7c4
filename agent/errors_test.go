package agent

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeParams(t *testing.T) {
	type params struct {
		Name string `json:"name"`
	}
	tests := []struct {
		name     string
		raw      string
		required bool
		wantErr  string // "" for success
	}{
		{"absent, optional", "", false, ""},
		{"null, optional", "null", false, ""},
		{"absent, required", "", true, "params are required"},
		{"ok", `{"name":"lvs0/a"}`, true, ""},
		{"unknown key", `{"name":"a","nmae":"b"}`, true, `unknown field "nmae"`},
		{"array", `["a"]`, true, "must be a JSON object"},
		{"wrong type", `{"name":5}`, true, "cannot unmarshal number"},
		{"trailing data", `{"name":"a"} {}`, true, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p params
			e := decodeParams("agent_x", json.RawMessage(tt.raw), &p, tt.required)
			if tt.wantErr == "" {
				if e != nil {
					t.Fatalf("error %v, want none", e)
				}
				return
			}
			if e == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			if e.Code != -32602 || !strings.Contains(e.Message, tt.wantErr) || !strings.Contains(e.Message, "agent_x") {
				t.Errorf("error = %d %q, want -32602 naming agent_x and %q", e.Code, e.Message, tt.wantErr)
			}
		})
	}
}

func TestRefusal_messageAndData(t *testing.T) {
	e := refusal(refusalFacts{Rule: "backing-image", Method: "bdev_lvol_delete", Target: "lvs0/bi", Reason: "it is a backing image", Dependents: []string{"lvs0/a", "lvs0/b"}})
	want := "Operation not permitted: backing-image: bdev_lvol_delete lvs0/bi: it is a backing image (depended on by lvs0/a, lvs0/b)"
	if e.Code != -1 || e.Message != want {
		t.Errorf("refusal = %d %q, want -1 %q", e.Code, e.Message, want)
	}
	f, ok := refusalOf(e)
	if !ok || f.Rule != "backing-image" || len(f.Dependents) != 2 {
		t.Errorf("data = %+v", f)
	}
}
