package agent

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestGuard_batchMembersAndNotifications: a destructive call inside a batch
// or sent as a notification (no id, so no answer) is judged like any other:
// neither deletes a backing image.
func TestGuard_batchMembersAndNotifications(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	c, err := net.Dial("unix", n.cfg.RPCSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	del := func(id, name string) string {
		return `{"jsonrpc":"2.0",` + id + `"method":"bdev_lvol_delete","params":{"name":"` + name + `"}}`
	}
	req := `[` + del(`"id":1,`, n.demo.SharedImage) + `,` + del(`"id":2,`, n.demo.Orphan) + `]` +
		del("", n.demo.SingleCloneImage)
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	k, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:k]); !strings.Contains(got, `"rule":"backing-image"`) || !strings.Contains(got, `"id":2,"result":true`) {
		t.Fatalf("batch answer = %s, want the image refused and the orphan deleted", got)
	}
	// The notification has no answer; its refusal is in the audit log.
	n.waitFor(t, "the notification to be audited", func(Status) bool {
		for _, r := range readAudit(t, n) {
			if r.Decision == decisionRefused && strings.Contains(string(r.Params), n.demo.SingleCloneImage) {
				return true
			}
		}
		return false
	})
	for _, a := range []string{n.demo.SharedImage, n.demo.SingleCloneImage} {
		if !n.lvolExists(t, a) {
			t.Errorf("%s was deleted", a)
		}
	}
}

// TestGuard_splitDeleteNamesItsBase: bdev_split_delete {base_bdev} names no
// split: it removes every split of that base. With no split on the base the
// guard has nothing to protect and SPDK answers (the simulator has no split
// module and says so).
func TestGuard_splitDeleteNamesItsBase(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	_, err := n.via.CallRaw(context.Background(), "bdev_split_delete", params("base_bdev", "Malloc0"))
	if _, refused := refusalOf(err); refused {
		t.Fatalf("refused a split delete of a base without splits: %v", err)
	}
}
