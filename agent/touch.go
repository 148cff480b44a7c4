package agent

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
)

// touchedKeys are the params members that name an existing object a
// mutating call may change.
var touchedKeys = []string{"name", "lvol_name", "snapshot_name", "parent_name", "bdev", "old_name", "src_lvol_name"}

// touched is what a mutating call may change, resolved before the call: a
// rename makes the old alias unresolvable afterwards, so lvols are named by
// UUID here.
type touched struct {
	names []string
	full  bool // an lvstore-level change: only a full sync is sure
}

// touchedBy returns what method with params may change.
func (a *Agent) touchedBy(method string, params json.RawMessage) touched {
	if strings.Contains(method, "lvstore") {
		return touched{full: true}
	}
	var p map[string]any
	if json.Unmarshal(params, &p) != nil {
		return touched{}
	}
	var g *lvolgraph.Graph
	if snap := a.follower.current(); snap != nil {
		g = snap.Graph
	}
	set := newNameSet()
	for _, k := range touchedKeys {
		v, ok := p[k].(string)
		if !ok || v == "" {
			continue
		}
		if g != nil {
			if l, ok := g.Lvol(lvolgraph.ParseRef(v)); ok {
				set.add(string(l.UUID))
				continue
			}
		}
		set.add(v)
	}
	return touched{names: set.list}
}

// refreshTimeout bounds the refresh after a mutating call; the reply to the
// caller waits for it so that a query right after sees the change.
const refreshTimeout = 2 * time.Second

// refreshAfter refreshes what a mutating call touched, plus the object it
// created (create, snapshot and clone calls answer with the new lvol's UUID,
// bdev creates with the new bdev's name).
func (a *Agent) refreshAfter(ctx context.Context, method string, t touched, result json.RawMessage) {
	var created string
	if json.Unmarshal(result, &created) == nil && created != "" {
		t.names = append(t.names, created)
	}
	// Marked before the refresh, so that a rename cannot slip in between;
	// names the graph did not know yet are resolved after it.
	var unresolved []string
	if method == "bdev_lvol_set_read_only" && result != nil {
		unresolved = a.markReadOnly(t.names)
	}
	if !t.full && len(t.names) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	if _, err := a.follower.request(rctx, t.names, t.full); err != nil {
		a.log.Warn("refresh after a mutating call", "method", method, "objects", t.names, "err", err)
	}
	for _, n := range a.markReadOnly(unresolved) {
		a.log.Warn("lvol set read-only through the agent is not in the graph: its renames are not guarded", "lvol", n)
	}
}

// markReadOnly remembers the lvols named by names (UUIDs or aliases) as set
// read-only through the agent, in the state directory: SPDK shows read-only
// nowhere in its listings, yet a rename of such an lvol is half applied. It
// returns the names the current graph does not resolve.
func (a *Agent) markReadOnly(names []string) (unresolved []string) {
	var g *lvolgraph.Graph
	if snap := a.follower.current(); snap != nil {
		g = snap.Graph
	}
	for _, n := range names {
		var l *lvolgraph.Lvol
		ok := false
		if g != nil {
			l, ok = g.Lvol(lvolgraph.ParseRef(n))
		}
		if !ok {
			unresolved = append(unresolved, n)
			continue
		}
		err := a.readOnly.add(readOnlyLvol{UUID: l.UUID, Alias: l.Alias, Lvstore: l.LvstoreUUID, SetAt: time.Now().UTC()})
		if err != nil {
			// Still refused until the agent restarts.
			a.log.Error("remembering a read-only lvol", "lvol", l.Alias, "uuid", l.UUID, "err", err)
		}
	}
	return unresolved
}

// pruneReadOnly forgets the read-only lvols a full sync proves gone.
func (a *Agent) pruneReadOnly(snap *Snapshot) {
	gone, err := a.readOnly.prune(snap)
	if err != nil {
		a.log.Error("forgetting deleted read-only lvols", "err", err)
	}
	for _, l := range gone {
		a.log.Info("forgot read-only lvol: it no longer exists", "lvol", l.Alias, "uuid", l.UUID)
	}
}

// keyedLocks serializes destructive calls per key (an lvstore) while calls
// on different keys run concurrently. Waiting honours the caller's context.
type keyedLocks struct {
	mu sync.Mutex // protects m
	m  map[string]chan struct{}
}

func newKeyedLocks() *keyedLocks { return &keyedLocks{m: map[string]chan struct{}{}} }

// lock takes the lock of key and returns its release.
func (l *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	ch, ok := l.m[key]
	if !ok {
		ch = make(chan struct{}, 1)
		l.m[key] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
