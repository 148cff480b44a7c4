package agent

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunDemo_once(t *testing.T) {
	var out bytes.Buffer
	if err := RunDemo(context.Background(), &out, DemoOptions{Once: true}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"lvstore lvs-malloc",
		"backing image",
		"deleted (3):",
		"lvs-malloc/r-10 (",
		"[backing-image]",
		"merges it into that chain, rewriting vol-a",
		`"code":-1`,
		"Operation not permitted: backing-image",
		"spdk-agent tree --socket",
		"r-50-expired-7c21 [orphan]",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
}
