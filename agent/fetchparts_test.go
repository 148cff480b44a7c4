package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func TestRealAndSim_readInPartsMatchesWholeRead(t *testing.T) {
	backends(t, readInPartsMatchesWholeRead)
}

// A read in parts gives what the whole read gives, on the demo node: the
// same lvstores, lvols and lvol bdevs, the bdevs beneath them, and with a
// previous graph every bdev that graph knew.
func readInPartsMatchesWholeRead(t *testing.T, real bool) {
	n := startNode(t, nodeOpts{real: real})
	ctx := context.Background()
	r := &reader{c: n.spdk}
	whole, err := r.readAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prev := lvolgraph.Build(1, time.Now(), lvolgraph.Inputs{Lvstores: whole.Lvstores, Lvols: whole.Lvols, Bdevs: whole.Bdevs})
	for _, tc := range []struct {
		name string
		prev *lvolgraph.Graph
	}{{"first read", nil}, {"with a previous graph", prev}} {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := r.readInParts(ctx, tc.prev)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "lvstores", sorted(whole.Lvstores, func(l spdkrpc.Lvstore) string { return string(l.UUID) }),
				sorted(parts.Lvstores, func(l spdkrpc.Lvstore) string { return string(l.UUID) }))
			sameJSON(t, "lvols", sorted(whole.Lvols, func(l spdkrpc.Lvol) string { return string(l.UUID) }),
				sorted(parts.Lvols, func(l spdkrpc.Lvol) string { return string(l.UUID) }))
			byName := func(b spdkrpc.Bdev) string { return string(b.Name) }
			want := sorted(whole.Bdevs, byName)
			if tc.prev == nil {
				want = slices.DeleteFunc(want, func(b spdkrpc.Bdev) bool { return !usedByTheGraph(whole, b) })
			}
			sameJSON(t, "bdevs", want, sorted(parts.Bdevs, byName))
			g := lvolgraph.Build(2, time.Now(), lvolgraph.Inputs{Lvstores: parts.Lvstores, Lvols: parts.Lvols, Bdevs: parts.Bdevs})
			if len(g.Anomalies()) != len(prev.Anomalies()) || g.Len() != prev.Len() {
				t.Errorf("graph of the parts: %d lvols, anomalies %v; of the whole read: %d, %v", g.Len(), g.Anomalies(), prev.Len(), prev.Anomalies())
			}
		})
	}
}

// usedByTheGraph reports whether b is an lvol, an lvstore's base or an
// esnap clone's parent: the bdevs a first read in parts must find.
func usedByTheGraph(st fullState, b spdkrpc.Bdev) bool {
	if _, ok := b.LvolInfo(); ok {
		return true
	}
	for _, s := range st.Lvstores {
		if s.BaseBdev == b.Name {
			return true
		}
	}
	for _, o := range st.Bdevs {
		if info, ok := o.LvolInfo(); ok && info.EsnapClone && info.ExternalSnapshotName == b.UUID {
			return true
		}
	}
	return false
}

func sorted[T any](xs []T, key func(T) string) []T {
	out := slices.Clone(xs)
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return out
}

func sameJSON(t *testing.T, what string, want, got any) {
	t.Helper()
	w, _ := json.Marshal(want)
	g, _ := json.Marshal(got)
	if string(w) != string(g) {
		t.Errorf("%s differ:\n whole %s\n parts %s", what, w, g)
	}
}
