package agent

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

func TestRealAndSim_followNotificationDrivesUpdate(t *testing.T) {
	backends(t, followNotificationDrivesUpdate)
}

func followNotificationDrivesUpdate(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{real: real})
	ctx := context.Background()
	before := n.status(t).Graph.Lvols
	// Created straight on SPDK: only the notification tells the agent.
	var u string
	if err := n.spdk.Call(ctx, "bdev_lvol_create", map[string]any{"lvs_name": "lvs-aio", "lvol_name": "fresh", "size_in_mib": 4, "thin_provision": true}, &u); err != nil {
		t.Fatal(err)
	}
	n.waitFor(t, "the new lvol", func(s Status) bool { return s.Graph.Lvols == before+1 })
	var d LvolDetail
	if err := n.via.Call(ctx, "agent_get_lvol", map[string]string{"name": "lvs-aio/fresh"}, &d); err != nil {
		t.Fatal(err)
	}
	if string(d.Lvol.UUID) != u || !d.Lvol.Thin {
		t.Errorf("lvol = %+v, want uuid %s, thin", d.Lvol, u)
	}
	if st := n.status(t); len(st.Graph.Anomalies) != 0 {
		t.Errorf("anomalies after a targeted update: %v", st.Graph.Anomalies)
	}
}

func TestRealAndSim_followCrashAndRestart(t *testing.T) { backends(t, followCrashAndRestart) }

func followCrashAndRestart(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{allowSelf: true, real: real})
	ctx := context.Background()
	n.crashSPDK(t)
	n.waitFor(t, "disconnected", func(s Status) bool { return !s.SPDK.Connected })
	start := time.Now()
	n.restartSPDK(t)
	n.waitFor(t, "reconnected and synced", func(s Status) bool { return s.SPDK.Connected && s.Graph.Synced && len(s.Graph.Missing) > 0 })
	// Timing is reported, not asserted: the socket watcher makes this well
	// under a second, the client's backoff alone up to 2 s.
	t.Logf("reconnected and synced %v after the restart", time.Since(start))
	st := n.status(t)
	if st.Graph.Complete || len(st.Graph.Missing) != 2 {
		t.Fatalf("after restart: complete=%v missing=%v, want both lvstores missing", st.Graph.Complete, st.Graph.Missing)
	}
	// Destructive calls are refused while lvstores are missing.
	_, err := n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan))
	refusedWith(t, err, ruleGraphIncomplete)
	_, err = n.via.CallRaw(ctx, "bdev_malloc_delete", params("name", spdksim.DemoExternalImage))
	refusedWith(t, err, ruleGraphIncomplete)
	// The aio lvstore comes back as its base bdev is examined.
	if err := n.spdk.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.spdk.Call(ctx, "bdev_aio_create", map[string]any{"name": spdksim.DemoAioBdev, "filename": n.demo.AioFile, "block_size": 4096}, nil); err != nil {
		t.Fatal(err)
	}
	st = n.waitFor(t, "the aio lvstore back", func(s Status) bool { return len(s.Graph.Missing) == 1 })
	if st.Graph.Complete {
		t.Fatal("complete while the malloc lvstore is still missing")
	}
	_, err = n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan))
	refusedWith(t, err, ruleGraphIncomplete)
	if !n.lvolExists(t, n.demo.Orphan) {
		t.Fatal("orphan deleted while the graph was incomplete")
	}
	// The malloc lvstore is gone for good (its memory died with SPDK):
	// the operator retires it.
	if err := n.via.Call(ctx, "agent_forget_lvstore", map[string]string{"lvstore": spdksim.DemoMallocLvstore}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitFor(t, "complete", func(s Status) bool { return s.Graph.Complete })
	// The esnap clone of the lost malloc image is degraded now: the graph
	// rules still refuse deletions in its lvstore, nothing was deleted.
	_, err = n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", n.demo.Orphan))
	refusedWith(t, err, "graph-incomplete")
	if !n.lvolExists(t, n.demo.Orphan) {
		t.Fatal("orphan deleted next to a degraded lvol")
	}
}

func TestFollow_seenLvstoresSurviveAgentRestart(t *testing.T) {
	n := startNode(t, nodeOpts{})
	seen, err := loadSeen(n.cfg.statePath(seenFileName))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(seen.list()); got != 2 {
		t.Fatalf("seen file holds %d lvstores, want 2", got)
	}
}

func TestRealAndSim_cleanupRacesProxiedDelete(t *testing.T) {
	backends(t, cleanupRacesProxiedDelete)
}

// A cleanup and a proxied delete of the same lvol race; whichever wins,
// the lvol is deleted once, reported once, and nothing else is touched.
func cleanupRacesProxiedDelete(t *testing.T, real bool) {
	for i := range 6 {
		n := startNode(t, nodeOpts{allowSelf: true, real: real})
		ctx := context.Background()
		target := "lvs-malloc/r-10"
		var wg sync.WaitGroup
		var rep CleanupReport
		var cleanErr, delErr error
		cleanup := func() {
			cleanErr = n.via.Call(ctx, "agent_apply_cleanup", map[string]any{"lvstore": "lvs-malloc", "replica": "r-10"}, &rep)
		}
		del := func() { _, delErr = n.via.CallRaw(ctx, "bdev_lvol_delete", params("name", target)) }
		// Both orders of sending; which one SPDK sees first is the race.
		if i%2 == 0 {
			wg.Go(cleanup)
			wg.Go(del)
		} else {
			wg.Go(del)
			wg.Go(cleanup)
		}
		wg.Wait()
		if cleanErr != nil {
			t.Fatalf("cleanup: %v", cleanErr)
		}
		deletedByCleanup := false
		for _, s := range rep.Deleted {
			if string(s.Alias) == target {
				deletedByCleanup = true
			}
		}
		skipped := false
		for _, s := range rep.Skipped {
			if string(s.Alias) == target {
				skipped = true
			}
		}
		switch {
		case delErr == nil && deletedByCleanup:
			t.Fatal("both the cleanup and the proxied call report deleting r-10")
		case delErr == nil && !skipped && inPlan(rep, target):
			t.Fatalf("proxied delete won but the report neither skips r-10 nor leaves it out: %+v", rep)
		case delErr != nil && !deletedByCleanup:
			t.Fatalf("proxied delete failed (%v) and the cleanup did not delete r-10: %+v", delErr, rep)
		case delErr != nil && !errors.Is(delErr, spdkrpc.ErrNotFound):
			t.Fatalf("losing proxied delete: %v, want No such device", delErr)
		}
		if rep.Stopped != nil {
			t.Fatalf("cleanup stopped: %+v", rep.Stopped)
		}
		for _, alias := range []string{target, "lvs-malloc/r-10-snap-s1"} {
			if n.lvolExists(t, alias) {
				t.Errorf("%s survived the cleanup", alias)
			}
		}
		for _, alias := range []string{n.demo.SharedImage, "lvs-malloc/r-1"} {
			if !n.lvolExists(t, alias) {
				t.Errorf("%s was deleted", alias)
			}
		}
	}
}

// TestServeRPC_injectedPeer checks the allow list on the handler itself,
// with credentials no test process could have.
func TestServeRPC_injectedPeer(t *testing.T) {
	n := startNode(t, nodeOpts{})
	tests := []struct {
		name   string
		peer   spdkserver.PeerCred
		method string
		ok     bool
	}{
		{"stranger deletes", spdkserver.PeerCred{OK: true, UID: 4242, GID: 4242, PID: 1}, "bdev_lvol_delete", false},
		{"stranger applies a cleanup", spdkserver.PeerCred{OK: true, UID: 4242, GID: 4242, PID: 1}, "agent_apply_cleanup", false},
		{"no credentials", spdkserver.PeerCred{}, "bdev_lvol_delete", false},
		{"stranger reads", spdkserver.PeerCred{OK: true, UID: 4242, GID: 4242, PID: 1}, "agent_get_status", true},
		{"root deletes", spdkserver.PeerCred{OK: true, UID: 0, GID: 0, PID: 1}, "bdev_lvol_delete", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params("name", n.demo.Expired)
			if tt.method == "agent_apply_cleanup" {
				p = params("lvstore", "lvs-malloc", "replica", "r-10")
			}
			if tt.method == "agent_get_status" {
				p = nil
			}
			done := make(chan error, 1)
			n.agent.ServeRPC(context.Background(), &spdkserver.Request{Method: tt.method, Params: p, Peer: tt.peer},
				func(_ any, err error) { done <- err })
			err := <-done
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			refusedWith(t, err, ruleCallerNotAllowed)
		})
	}
}

// inPlan reports whether alias appears anywhere in the report.
func inPlan(rep CleanupReport, alias string) bool {
	for _, s := range rep.Deleted {
		if string(s.Alias) == alias {
			return true
		}
	}
	for _, s := range rep.Skipped {
		if string(s.Alias) == alias {
			return true
		}
	}
	for _, s := range rep.Protected {
		if string(s.Alias) == alias {
			return true
		}
	}
	return rep.Stopped != nil && string(rep.Stopped.Alias) == alias
}
