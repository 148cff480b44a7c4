package diskid

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// memClaims is an in-memory ClaimStore: the reference the Lease store must
// behave like, and the fake of the Manager's tests.
type memClaims struct {
	mu     sync.Mutex
	claims map[string]ClaimSpec
	synced bool
	fail   error // returned by Claim and Release when set
}

func newMemClaims(held ...ClaimSpec) *memClaims {
	c := &memClaims{claims: map[string]ClaimSpec{}, synced: true}
	for _, h := range held {
		c.claims[h.Prefix] = h
	}
	return c
}

func (c *memClaims) Claim(_ context.Context, s ClaimSpec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	if h, ok := c.claims[s.Prefix]; ok && h.UUID != s.UUID {
		return &ClaimedError{Holder: h}
	}
	c.claims[s.Prefix] = s
	return nil
}

func (c *memClaims) Release(_ context.Context, prefix string, u DiskUUID) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	if h, ok := c.claims[prefix]; ok && h.UUID == u {
		delete(c.claims, prefix)
	}
	return nil
}

func (c *memClaims) View() ClaimView {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := ClaimView{Synced: c.synced, Good: true, Source: "mem"}
	if !c.synced {
		v.Problem = "test: not synced"
	}
	for _, h := range c.claims {
		v.Claims = append(v.Claims, h)
	}
	return v
}

func (c *memClaims) set(f func(c *memClaims)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

// A prefix another node claimed after this node's view was taken makes the
// claim fail: the pending disk takes another UUID, and only that is claimed.
func TestManager_claimCollisionTakesAnotherUUID(t *testing.T) {
	other := ClaimSpec{Prefix: "aaaa", UUID: "aaaa0000-0000-4000-8000-000000000001", Node: "n2", Disk: "/d", Kind: KindFilesystem}
	claims := newMemClaims()
	var steps []string
	m := newTestManager(t, func(c *Config) {
		c.Node, c.Claims = "n1", claims
		c.NewUUID = uuidQueue("aaaa1111-0000-4000-8000-000000000002", "bbbb0000-0000-4000-8000-000000000003")
		c.StepHook = func(s string) {
			steps = append(steps, s)
			if s == StepPendingWritten && len(steps) == 1 {
				claims.set(func(c *memClaims) { c.claims[other.Prefix] = other }) // the other node wins the race
			}
		}
	})
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := m.Init(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.UUID != "bbbb0000-0000-4000-8000-000000000003" || st.Claim != ClaimHeld {
		t.Fatalf("status %+v", st)
	}
	if got := claims.View().Claims; len(got) != 2 {
		t.Fatalf("claims %+v", got)
	}
	id, err := ReadIdentity(dir)
	if err != nil || id.ClaimPending || id.UUID != st.UUID {
		t.Fatalf("identity %+v, %v", id, err)
	}
	want := []string{StepPendingWritten, StepPendingWritten, StepClaimed, StepDone}
	if len(steps) != len(want) {
		t.Fatalf("steps %v, want %v", steps, want)
	}
}

// Nothing is generated from a view that is not synced, and a failing API
// leaves a pending disk that the next check finishes.
func TestManager_claimsNotSyncedOrFailing(t *testing.T) {
	claims := newMemClaims()
	claims.synced = false
	m := newTestManager(t, func(c *Config) { c.Node, c.Claims = "n1", claims })
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Init(ctx, dir); !errors.Is(err, ErrRegistryNotSynced) {
		t.Fatalf("init while not synced: %v", err)
	}
	if _, err := ReadIdentity(dir); !errors.Is(err, ErrIdentityMissing) {
		t.Fatalf("identity after a refused init: %v", err)
	}
	if ok, _ := m.Ready(); ok {
		t.Fatal("ready before any disk identity was loaded")
	}

	claims.set(func(c *memClaims) { c.synced, c.fail = true, errors.New("connection refused") })
	if _, err := m.Init(ctx, dir); err == nil {
		t.Fatal("init with a failing API succeeded")
	}
	id, err := ReadIdentity(dir)
	if err != nil || !id.ClaimPending {
		t.Fatalf("identity after a failed claim: %+v, %v (want pending)", id, err)
	}
	st, _ := m.Lookup(dir)
	if !st.Has(CondClaimPending) || st.State != StateFailed {
		t.Fatalf("status of a pending disk: %+v", st)
	}

	claims.set(func(c *memClaims) { c.fail = nil })
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ = m.Lookup(dir)
	if st.State != StateOK || st.Claim != ClaimHeld {
		t.Fatalf("after the check: %+v", st)
	}
	if id, _ := ReadIdentity(dir); id.ClaimPending {
		t.Fatal("still pending after the check")
	}
}

// Regenerating moves the claim: the new one is made before the old one is
// released, and a stale claim of this node's disk is released by a check.
func TestManager_regenerateMovesClaim(t *testing.T) {
	claims := newMemClaims()
	m := newTestManager(t, func(c *Config) { c.Node, c.Claims = "n1", claims })
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := m.Init(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	old, next, err := m.Regenerate(ctx, dir, true)
	if err != nil || old != st.UUID {
		t.Fatalf("regenerate: %s -> %s, %v", old, next, err)
	}
	v := claims.View()
	if len(v.Claims) != 1 || v.Claims[0].UUID != next {
		t.Fatalf("claims after regenerate: %+v", v.Claims)
	}
	stale := ClaimSpec{Prefix: "ffff", UUID: "ffff0000-0000-4000-8000-000000000009", Node: "n1", Disk: dir, Kind: KindFilesystem}
	claims.set(func(c *memClaims) { c.claims[stale.Prefix] = stale })
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if v := claims.View(); len(v.Claims) != 1 || v.Claims[0].UUID != next {
		t.Fatalf("the stale claim was not released: %+v", v.Claims)
	}
	if err := m.Forget(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if v := claims.View(); len(v.Claims) != 0 {
		t.Fatalf("claims after forget: %+v", v.Claims)
	}
}

// An lvstore that appears while Run waits is claimed at once, not at the
// next recheck: SetLvstores wakes Run. In the bubble the hour-long ticker
// cannot fire without time passing, and none does.
func TestManager_runClaimsNewLvstoreAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		claims := &viewCounter{memClaims: newMemClaims()}
		m := newTestManager(t, func(c *Config) {
			c.Node, c.Claims = "n1", claims
			c.RecheckInterval = time.Hour
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		start := time.Now()

		const u = "abcd0000-0000-4000-8000-000000000001"
		m.SetLvstores([]LvstoreDisk{{Name: "lvs0", UUID: u}})
		synctest.Wait()
		if got := claims.View().Claims; len(got) != 1 || got[0].UUID != u || got[0].Kind != KindLvstore {
			t.Fatalf("claims after SetLvstores: %+v, want the lvstore's", got)
		}
		// The same set again is no change and wakes nothing.
		views := claims.views.Load()
		m.SetLvstores([]LvstoreDisk{{Name: "lvs0", UUID: u}})
		synctest.Wait()
		if got := claims.views.Load(); got != views {
			t.Errorf("an unchanged lvstore set read the claims %d more times", got-views)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("%v passed in the bubble: the recheck ticker, not the change, ran the check", d)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// viewCounter counts the reads of a store's view: each check reads it.
type viewCounter struct {
	*memClaims
	views atomic.Int64
}

func (c *viewCounter) View() ClaimView {
	c.views.Add(1)
	return c.memClaims.View()
}
