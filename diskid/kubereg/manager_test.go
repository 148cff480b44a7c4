package kubereg

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/internal/kubetest"
)

var apiDown = flag.Duration("kube-down", 5*time.Second, "how long TestManager_apiServerDown keeps the API server stopped (the issue asks for 1m)")

// An API server stopped for a while blocks new claims, changes no existing
// disk, and everything resumes when it is back.
func TestManager_apiServerDown(t *testing.T) {
	api := kubetest.Start(t)
	api.CreateNodes(t, "n1")
	store, changed := startStore(t, api, "n1")
	cfg := diskid.DefaultConfig()
	cfg.Node, cfg.Claims, cfg.PrefixLen = "n1", store, 3
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	m, err := diskid.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { _ = m.Run(ctx) })

	root := t.TempDir()
	var disks []string
	files := map[string][]byte{}
	for _, n := range []string{"a", "b", "c"} {
		d := filepath.Join(root, n)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Init(ctx, d); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(d, diskid.IdentityFile))
		if err != nil {
			t.Fatal(err)
		}
		disks, files[d] = append(disks, d), b
	}

	api.StopAPIServer()
	waitFor(t, changed, func() bool { return !store.View().Synced })
	t.Logf("API server stopped; view: %d claims, problem: %s", len(store.View().Claims), store.View().Problem)
	late := filepath.Join(root, "late")
	if err := os.Mkdir(late, 0o755); err != nil {
		t.Fatal(err)
	}
	down := time.NewTimer(*apiDown)
	for stopped := false; !stopped; {
		if _, err := m.Init(ctx, late); !errors.Is(err, diskid.ErrRegistryNotSynced) {
			t.Fatalf("init while down: %v, want ErrRegistryNotSynced", err)
		}
		m.Remove(late) // as the agent does after a failed init
		if _, err := os.Stat(filepath.Join(late, diskid.IdentityFile)); !os.IsNotExist(err) {
			t.Fatalf("init while down wrote an identity: %v", err)
		}
		st, err := m.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Path != late && (s.State != diskid.StateOK || s.Claim != diskid.ClaimHeld) {
				t.Fatalf("while down, %s: %+v", s.Path, s)
			}
		}
		if ok, reason := m.Ready(); !ok {
			t.Fatalf("not ready while down with the last good view: %s", reason)
		}
		select {
		case <-down.C:
			stopped = true
		case <-changed: // re-check on every change while down
		case <-time.After(time.Second): // and now and then
		}
	}
	for _, d := range disks {
		if b, _ := os.ReadFile(filepath.Join(d, diskid.IdentityFile)); !bytes.Equal(b, files[d]) {
			t.Fatalf("%s changed while the API server was down", d)
		}
	}
	_, info, _ := m.Registry()
	t.Logf("after %v down: registry %+v", *apiDown, info)

	api.StartAPIServer()
	// A new API server may end the first watches it serves (its watch
	// cache starting): the view is then not current for a moment, and an
	// init refused meanwhile is tried again, as the agent does at its next
	// check. Nothing but "not synced" is accepted before it succeeds.
	var st diskid.DiskStatus
	back := time.Now()
	for {
		waitFor(t, changed, func() bool { return store.View().Synced })
		st, err = m.Init(ctx, late)
		if !errors.Is(err, diskid.ErrRegistryNotSynced) || time.Since(back) > 30*time.Second {
			break
		}
		t.Logf("init refused while the view caught up: %v", err)
		m.Remove(late)
	}
	if err != nil || st.Claim != diskid.ClaimHeld {
		t.Fatalf("init after the API server came back: %+v, %v", st, err)
	}
	if got := len(store.View().Claims); got != 4 {
		t.Fatalf("%d claims, want 4", got)
	}
}
