package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// readOnlyFile returns the aliases the state directory remembers as read-only.
func readOnlyFile(t *testing.T, n *node) []string {
	t.Helper()
	s, err := loadReadOnly(n.cfg.statePath(readOnlyFileName))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range s.list() {
		out = append(out, string(l.Alias))
	}
	return out
}

func TestReadOnly_survivesAgentRestart(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	if _, err := n.via.CallRaw(ctx, "bdev_lvol_set_read_only", params("name", n.demo.Orphan)); err != nil {
		t.Fatal(err)
	}
	if got := readOnlyFile(t, n); len(got) != 1 || got[0] != n.demo.Orphan {
		t.Fatalf("read-only file = %v, want [%s]", got, n.demo.Orphan)
	}
	n.restartAgent(t)
	_, err := n.via.CallRaw(ctx, "bdev_lvol_rename", params("old_name", n.demo.Orphan, "new_name", "renamed"))
	refusedWith(t, err, ruleRenameReadOnly)
	if !n.lvolExists(t, n.demo.Orphan) {
		t.Fatal("the refused rename happened")
	}
	// By UUID too: the memory is of the lvol, not of its name.
	var d LvolDetail
	if err := n.via.Call(ctx, "agent_get_lvol", map[string]string{"name": n.demo.Orphan}, &d); err != nil {
		t.Fatal(err)
	}
	_, err = n.via.CallRaw(ctx, "bdev_lvol_rename", params("old_name", string(d.Lvol.UUID), "new_name", "renamed"))
	refusedWith(t, err, ruleRenameReadOnly)
}

// TestReadOnly_prunedOnlyWhenProvenGone checks that the memory of a
// read-only lvol outlives an SPDK restart whose lvstores come back one by
// one, and goes once a complete graph proves the lvol gone.
func TestReadOnly_prunedOnlyWhenProvenGone(t *testing.T) {
	n := startNode(t, nodeOpts{allowSelf: true})
	ctx := context.Background()
	const aioLvol, mallocLvol = "lvs-aio/r-40", "lvs-malloc/r-1"
	for _, name := range []string{n.demo.Orphan, aioLvol, mallocLvol} {
		if _, err := n.via.CallRaw(ctx, "bdev_lvol_set_read_only", params("name", name)); err != nil {
			t.Fatalf("set_read_only %s: %v", name, err)
		}
	}
	// Deleted behind the agent's back: the next full sync proves it gone.
	if _, err := n.spdk.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.agent.follower.request(ctx, nil, true); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(readOnlyFile(t, n), " "); got != aioLvol+" "+mallocLvol && got != mallocLvol+" "+aioLvol {
		t.Fatalf("after deleting %s: read-only file = %s, want only %s and %s", n.demo.Orphan, got, aioLvol, mallocLvol)
	}

	// SPDK restarts; only the aio lvstore comes back. The malloc lvstore's
	// lvols are absent from every graph, which proves nothing.
	n.sim.Crash()
	n.waitFor(t, "disconnected", func(s Status) bool { return !s.SPDK.Connected })
	if err := n.sim.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// A new connection: the test's own client may not have noticed the
	// crash yet, and would send on the dead one.
	fresh, err := spdkrpc.Dial(ctx, n.cfg.SPDKSocket, spdkrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.Call(ctx, "bdev_aio_create", map[string]any{"name": spdksim.DemoAioBdev, "filename": n.demo.AioFile, "block_size": 4096}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitFor(t, "the aio lvstore back", func(s Status) bool { return s.Graph.Synced && len(s.Graph.Missing) == 1 })
	if _, err := n.agent.follower.request(ctx, nil, true); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(readOnlyFile(t, n), " "); !strings.Contains(got, mallocLvol) || !strings.Contains(got, aioLvol) {
		t.Fatalf("incomplete graph pruned the read-only file: %s", got)
	}
	// The malloc lvstore is retired for good: its lvols are gone for good.
	if err := n.via.Call(ctx, "agent_forget_lvstore", map[string]string{"lvstore": spdksim.DemoMallocLvstore}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitFor(t, "a complete graph", func(s Status) bool { return s.Graph.Complete })
	if got := readOnlyFile(t, n); len(got) != 1 || got[0] != aioLvol {
		t.Fatalf("after forgetting lvs-malloc: read-only file = %v, want [%s]", got, aioLvol)
	}
}

func TestLoadReadOnly(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" = no file
		want    int
		wantErr string
	}{
		{"no file", "", 0, ""},
		{"two lvols", `[{"uuid":"u-1","alias":"lvs/a"},{"uuid":"u-2"}]`, 2, ""},
		{"damaged", `[{"uuid":`, 0, "is damaged"},
		{"entry without uuid", `[{"alias":"lvs/a"}]`, 0, `without uuid (alias "lvs/a")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), readOnlyFileName)
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s, err := loadReadOnly(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want one naming %s and saying %q", err, path, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(s.list()); got != tt.want {
				t.Fatalf("loaded %d lvols, want %d", got, tt.want)
			}
			if tt.want > 0 && !s.has(spdkrpc.LvolUUID("u-2")) {
				t.Error("u-2 not remembered")
			}
		})
	}
}
