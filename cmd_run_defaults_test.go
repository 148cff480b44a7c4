package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/agent"
)

// The run command's flags show the agent's own defaults: what a flag left
// alone means is written once, in agent.Defaults.
func TestRunFlags_defaultsAreTheAgents(t *testing.T) {
	out, _ := exec.Command(agentBinary(t), "run", "-h").CombinedOutput()
	help := string(out)
	d := agent.Defaults()
	for flag, v := range map[string]any{
		"resync-interval":      d.ResyncInterval,
		"notify-interval":      d.NotifyInterval,
		"iostat-interval":      d.IOStatInterval,
		"max-graph-age":        d.MaxGraphAge,
		"call-timeout":         d.CallTimeout,
		"max-clients":          d.MaxClients,
		"client-max-calls":     d.ClientMaxCalls,
		"client-max-unread":    d.ClientMaxUnread,
		"reply-budget":         d.ReplyBudget,
		"client-write-timeout": d.ClientWriteTimeout,
		"client-idle-timeout":  d.ClientIdleTimeout,
		"health-idle-timeout":  d.HealthIdleTimeout,
		"read-in-parts-above":  d.ReadInPartsAbove,
	} {
		i := strings.Index(help, "  -"+flag+" ")
		if i < 0 {
			t.Errorf("run -h lists no -%s", flag)
			continue
		}
		entry := help[i:]
		if j := strings.Index(entry[3:], "\n  -"); j >= 0 {
			entry = entry[:j+3]
		}
		if want := fmt.Sprintf("(default %v)", v); !strings.Contains(entry, want) {
			t.Errorf("-%s: %q, want %s", flag, entry, want)
		}
	}
}
