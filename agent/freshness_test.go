package agent

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func TestViewStatus(t *testing.T) {
	demo := *demoFollower(t, 7).current()
	// An lvol of an lvstore bdev_lvol_get_lvstores did not list, and without
	// its bdev: two anomalies.
	odd := Snapshot{Synced: true, Graph: lvolgraph.Build(1, time.Unix(0, 0), lvolgraph.Inputs{
		Lvols: []spdkrpc.Lvol{{Alias: "lvs0/a", UUID: "u-a", Name: "a", Lvs: spdkrpc.LvstoreRef{Name: "lvs0", UUID: "u-lvs0"}}},
	})}
	t0 := time.Unix(1700000000, 0)
	fresh := freshness{connected: true, confirmedAt: t0, now: t0.Add(time.Second), maxAge: 30 * time.Second}
	with := func(edit func(*freshness)) freshness { f := fresh; edit(&f); return f }
	missing := demo
	missing.Missing = []string{"lvs-old (u-old)"}
	unsynced := demo
	unsynced.Synced = false
	malloc, _ := demo.Graph.Lvstore(lvolgraph.ParseRef("lvs-malloc"))

	tests := []struct {
		name        string
		snap        *Snapshot
		only        *lvolgraph.Lvstore
		f           freshness
		warnings    []string // substrings, one per warning, in order
		orphans     []string // lvstore name: aliases
		anomalies   int
		stale, comp bool
	}{
		{"current", &demo, nil, fresh, nil, []string{"lvs-aio: lvs-aio/r-50-expired-7c21"}, 0, false, true},
		{"one lvstore without orphans", &demo, malloc, fresh, nil, nil, 0, false, true},
		{"disconnected", &demo, nil, with(func(f *freshness) { f.connected = false }),
			[]string{"SPDK is not connected"}, []string{"lvs-aio: lvs-aio/r-50-expired-7c21"}, 0, false, true},
		{"incomplete", &missing, nil, fresh, []string{"expected lvstores missing: lvs-old (u-old)"}, []string{"lvs-aio: lvs-aio/r-50-expired-7c21"}, 0, false, false},
		{"not synced since reconnect", &unsynced, nil, fresh, []string{"not read since it reconnected"}, []string{"lvs-aio: lvs-aio/r-50-expired-7c21"}, 0, false, false},
		{"stale", &demo, nil, with(func(f *freshness) { f.now = t0.Add(42 * time.Second) }),
			[]string{"graph stale: confirmed 42s ago (max 30s)"}, []string{"lvs-aio: lvs-aio/r-50-expired-7c21"}, 0, true, true},
		{"never confirmed", &demo, nil, with(func(f *freshness) { f.confirmedAt = time.Time{} }),
			[]string{"graph stale: never confirmed"}, []string{"lvs-aio: lvs-aio/r-50-expired-7c21"}, 0, true, true},
		{"anomalies", &odd, nil, fresh, []string{"2 anomalies: SPDK's listings contradict"}, nil, 2, false, true}, // unlisted lvstore, lvol without bdev
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := viewStatus(tt.snap, tt.only, tt.f)
			if len(st.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d like %q", st.Warnings, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(st.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to say %q", i, st.Warnings[i], w)
				}
			}
			var orphans []string
			for _, o := range st.Orphans {
				if o.Count != len(o.Aliases) {
					t.Errorf("lvstore %s: count %d for %d aliases", o.LvstoreName, o.Count, len(o.Aliases))
				}
				orphans = append(orphans, string(o.LvstoreName)+": "+strings.Join(aliasStrings(o.Aliases), " "))
			}
			if !slices.Equal(orphans, tt.orphans) {
				t.Errorf("orphans = %q, want %q", orphans, tt.orphans)
			}
			if st.Anomalies != tt.anomalies || st.Stale != tt.stale || st.Complete != tt.comp || st.SPDKConnected != tt.f.connected {
				t.Errorf("status = %+v, want anomalies %d, stale %v, complete %v, connected %v", st, tt.anomalies, tt.stale, tt.comp, tt.f.connected)
			}
			var b bytes.Buffer
			RenderWarning(&b, st)
			if lines := strings.Count(b.String(), "\n"); (len(tt.warnings) == 0) != (lines == 0) || lines > 1 {
				t.Errorf("warning header = %q, want one line exactly when there are warnings", b.String())
			}
		})
	}
}

func aliasStrings(as []spdkrpc.LvolAlias) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

func TestRenderOrphans(t *testing.T) {
	var b bytes.Buffer
	RenderOrphans(&b, "orphans:   ", []LvstoreOrphans{
		{LvstoreName: "lvs-aio", Count: 1, Aliases: []spdkrpc.LvolAlias{"lvs-aio/r-50-expired-7c21"}},
		{LvstoreName: "lvs0", Count: 2, Aliases: []spdkrpc.LvolAlias{"lvs0/a", "lvs0/b"}},
	})
	want := "orphans:   lvs-aio: 1 orphan lvol: r-50-expired-7c21\norphans:   lvs0: 2 orphan lvols: a, b\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
