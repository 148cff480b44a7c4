package agent

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// scriptedSPDK answers each method with the next of its scripted replies,
// repeating the last one; it is the follower's session in unit tests.
type scriptedSPDK struct {
	mu      sync.Mutex // protects replies and calls
	replies map[string][]string
	calls   []string
}

func (s *scriptedSPDK) CallRaw(_ context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, method+" "+string(params))
	rs := s.replies[method]
	if len(rs) == 0 {
		return nil, &spdkrpc.Error{Code: spdkrpc.CodeMethodNotFound, Message: "Method not found"}
	}
	r := rs[0]
	if len(rs) > 1 {
		s.replies[method] = rs[1:]
	}
	return json.RawMessage(r), nil
}

func (s *scriptedSPDK) WaitConnected(context.Context) error { return nil }

const (
	lvsA    = `[{"uuid":"aaaaaaaa-0000-0000-0000-000000000001","name":"lvsA","base_bdev":"Malloc0","total_data_clusters":63,"free_clusters":60,"block_size":4096,"cluster_size":4194304}]`
	lvolsA  = `[{"alias":"lvsA/v1","uuid":"bbbbbbbb-0000-0000-0000-000000000001","name":"v1","is_thin_provisioned":true,"is_snapshot":false,"is_clone":false,"is_esnap_clone":false,"is_degraded":false,"num_allocated_clusters":0,"lvs":{"name":"lvsA","uuid":"aaaaaaaa-0000-0000-0000-000000000001"}}]`
	bdevsA  = `[{"name":"Malloc0","aliases":[],"product_name":"Malloc disk","block_size":4096,"num_blocks":65536,"uuid":"cccccccc-0000-0000-0000-000000000001","claimed":true},{"name":"bbbbbbbb-0000-0000-0000-000000000001","aliases":["lvsA/v1"],"product_name":"Logical Volume","block_size":4096,"num_blocks":1024,"uuid":"bbbbbbbb-0000-0000-0000-000000000001","claimed":false,"driver_specific":{"lvol":{"lvol_store_uuid":"aaaaaaaa-0000-0000-0000-000000000001","base_bdev":"Malloc0","thin_provision":true,"num_allocated_clusters":0,"snapshot":false,"clone":false,"esnap_clone":false}}}]`
	bdevsA0 = `[{"name":"Malloc0","aliases":[],"product_name":"Malloc disk","block_size":4096,"num_blocks":65536,"uuid":"cccccccc-0000-0000-0000-000000000001","claimed":true}]`
)

func newTestFollower(t *testing.T, s *scriptedSPDK, expect ...string) *follower {
	t.Helper()
	seen, err := loadSeen(filepath.Join(t.TempDir(), seenFileName))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{ExpectLvstores: expect}.withDefaults()
	return newFollower(s, seen, cfg)
}

func TestFullSync_suddenlyEmptyLvstoreIsReadAgain(t *testing.T) {
	s := &scriptedSPDK{replies: map[string][]string{
		"bdev_lvol_get_lvstores": {lvsA},
		// The first full sync sees v1; the second sees an empty store, the
		// confirming read sees v1 again, and the retry sees v1.
		"bdev_lvol_get_lvols": {lvolsA, `[]`, lvolsA, lvolsA},
		"bdev_get_bdevs":      {bdevsA, bdevsA0, bdevsA},
	}}
	f := newTestFollower(t, s)
	ctx := context.Background()
	if err := f.fullSync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.fullSync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.current().Graph.Len(); got != 1 {
		t.Fatalf("graph has %d lvols after a transiently empty listing, want 1", got)
	}
}

func TestFullSync_confirmedEmptyLvstoreIsEmpty(t *testing.T) {
	s := &scriptedSPDK{replies: map[string][]string{
		"bdev_lvol_get_lvstores": {lvsA},
		"bdev_lvol_get_lvols":    {lvolsA, `[]`},
		"bdev_get_bdevs":         {bdevsA, bdevsA0},
	}}
	f := newTestFollower(t, s)
	ctx := context.Background()
	for range 2 {
		if err := f.fullSync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.current().Graph.Len(); got != 0 {
		t.Fatalf("graph has %d lvols after two empty reads, want 0", got)
	}
}

func TestFullSync_expectedLvstoreMissing(t *testing.T) {
	s := &scriptedSPDK{replies: map[string][]string{
		"bdev_lvol_get_lvstores": {`[]`},
		"bdev_lvol_get_lvols":    {`[]`},
		"bdev_get_bdevs":         {`[]`},
	}}
	f := newTestFollower(t, s, "lvsA")
	if err := f.fullSync(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := f.current()
	if snap.Complete() || len(snap.Missing) != 1 || snap.Missing[0] != "lvsA" {
		t.Fatalf("complete=%v missing=%v, want incomplete with lvsA missing", snap.Complete(), snap.Missing)
	}
}

func TestNotifyCursor_gapMeansFullSync(t *testing.T) {
	s := &scriptedSPDK{replies: map[string][]string{
		"notify_get_notifications": {
			`[{"type":"bdev_register","ctx":"Malloc0","id":0},{"type":"bdev_register","ctx":"x","id":1}]`,
			`[{"type":"bdev_register","ctx":"y","id":2}]`,
			`[{"type":"bdev_register","ctx":"z","id":9}]`,
		},
	}}
	r := &reader{c: s}
	var c notifyCursor
	ctx := context.Background()
	if evs, err := c.poll(ctx, r); err != nil || len(evs) != 0 {
		t.Fatalf("positioning poll = %v, %v; want no events (a full sync covers them)", evs, err)
	}
	evs, err := c.poll(ctx, r)
	if err != nil || len(evs) != 1 || evs[0].Ctx != "y" {
		t.Fatalf("second poll = %v, %v; want the event for y", evs, err)
	}
	if _, err := c.poll(ctx, r); !errors.Is(err, errNeedFullSync) {
		t.Fatalf("poll after lost events: %v, want errNeedFullSync", err)
	}
	if c.next != 10 {
		t.Errorf("cursor at %d after the gap, want 10", c.next)
	}
}

func TestTouchedBdevs(t *testing.T) {
	evs := []notification{
		{Type: "bdev_register", Ctx: "a", ID: 1},
		{Type: "bdev_unregister", Ctx: "a", ID: 2},
		{Type: "bdev_register", Ctx: "b", ID: 3},
		{Type: "something_else", Ctx: "c", ID: 4},
	}
	got := touchedBdevs(evs)
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("touchedBdevs = %v, want [a b]", got)
	}
}

// TestFollower_staleGraphRefusesDeletes checks that a graph whose last
// confirmed read is too old refuses destructive decisions.
func TestFollower_staleGraphRefusesDeletes(t *testing.T) {
	s := &scriptedSPDK{replies: map[string][]string{
		"bdev_lvol_get_lvstores": {lvsA},
		"bdev_lvol_get_lvols":    {lvolsA},
		"bdev_get_bdevs":         {bdevsA},
	}}
	f := newTestFollower(t, s)
	if err := f.fullSync(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.confirmed.Store(time.Now().Add(-time.Hour).UnixNano())
	a := &Agent{cfg: Config{MaxGraphAge: time.Minute}, follower: f}
	_, facts, ok := a.freshSnapshot(context.Background(), "bdev_lvol_delete", "lvsA/v1")
	if ok || facts.Rule != ruleGraphStale {
		t.Fatalf("fresh snapshot of a stale graph: ok=%v facts=%+v, want %s", ok, facts, ruleGraphStale)
	}
}
