package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func TestSeenStore_rememberForgetSurvivesReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), seenFileName)
	s, err := loadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0).UTC()
	lvs := []spdkrpc.Lvstore{{UUID: "u-1", Name: "lvs0"}, {UUID: "u-2", Name: "lvs1"}}
	if err := s.remember(lvs, now); err != nil {
		t.Fatal(err)
	}
	again, err := loadSeen(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.list(); len(got) != 2 || got[0].Name != "lvs0" || got[1].UUID != "u-2" {
		t.Fatalf("reloaded = %+v, want lvs0 and lvs1", got)
	}
	if _, err := again.forget("u-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := again.forget("u-2"); err == nil {
		t.Fatal("forgetting twice: no error")
	}
	third, _ := loadSeen(path)
	if got := third.list(); len(got) != 1 || got[0].UUID != "u-1" {
		t.Fatalf("after forget = %+v, want only u-1", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("state dir holds %d files, want 1 (no temporary files left)", len(entries))
	}
}

func TestLoadSeen_damagedFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), seenFileName)
	if err := os.WriteFile(path, []byte(`[{"uuid":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSeen(path); err == nil {
		t.Fatal("damaged file loaded without error")
	}
}

func TestExpectation_missing(t *testing.T) {
	present := []spdkrpc.Lvstore{{UUID: "11111111-2222-3333-4444-555555555555", Name: "lvs0"}}
	tests := []struct {
		name       string
		configured []string
		seen       []seenLvstore
		want       []string
	}{
		{"nothing expected", nil, nil, nil},
		{"configured by name, present", []string{"lvs0"}, nil, nil},
		{"configured by uuid, present", []string{"11111111-2222-3333-4444-555555555555"}, nil, nil},
		{"configured, absent", []string{"lvs1"}, nil, []string{"lvs1"}},
		{"seen, renamed but present", nil, []seenLvstore{{UUID: "11111111-2222-3333-4444-555555555555", Name: "old"}}, nil},
		{"seen, absent", nil, []seenLvstore{{UUID: "u-9", Name: "lvs9"}}, []string{"lvs9 (u-9)"}},
		{"seen and configured, listed once", []string{"lvs9"}, []seenLvstore{{UUID: "u-9", Name: "lvs9"}}, []string{"lvs9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := expectation{configured: tt.configured, seen: tt.seen}.missing(present)
			if !slices.Equal(got, tt.want) {
				t.Errorf("missing = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSeenStore_matchIsExplicit: a reference matches names as names and
// UUIDs as UUIDs (in either case), and every match is returned so that an
// ambiguous one is never resolved by chance.
func TestSeenStore_matchIsExplicit(t *testing.T) {
	s, err := loadSeen(filepath.Join(t.TempDir(), seenFileName))
	if err != nil {
		t.Fatal(err)
	}
	const u1, u2 = "800da8bc-906e-491c-b27d-26686b407e9b", "11111111-2222-4333-8444-555555555555"
	// lvs-odd is named like the other lvstore's UUID: SPDK allows it.
	lvs := []spdkrpc.Lvstore{{UUID: u1, Name: "lvs0"}, {UUID: u2, Name: spdkrpc.LvstoreName(u1)}}
	if err := s.remember(lvs, time.Now()); err != nil {
		t.Fatal(err)
	}
	uuids := func(ms []seenLvstore) []string {
		var out []string
		for _, m := range ms {
			out = append(out, string(m.UUID))
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range []struct {
		ref  string
		want []string
	}{
		{"lvs0", []string{u1}},
		{"800DA8BC-906E-491C-B27D-26686B407E9B", []string{u1}},
		{u2, []string{u2}},
		{u1, []string{u2, u1}}, // the UUID of one, the name of the other
		{"lvs9", nil},
	} {
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if got := uuids(s.match(tt.ref)); !slices.Equal(got, want) {
			t.Errorf("match(%q) = %v, want %v", tt.ref, got, want)
		}
	}
}
