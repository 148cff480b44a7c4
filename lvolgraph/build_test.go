package lvolgraph

import (
	"slices"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func TestBuild_transcript(t *testing.T) {
	in := loadFixture(t, "transcript.json", nil)
	g := Build(7, time.Unix(5, 0), in)
	if g.Generation() != 7 || !g.ReadAt().Equal(time.Unix(5, 0)) {
		t.Fatalf("generation/readAt = %d/%v", g.Generation(), g.ReadAt())
	}
	if as := g.Anomalies(); len(as) != 0 {
		t.Fatalf("anomalies on a recorded target: %v", as)
	}
	lvs, ok := g.Lvstore(ParseRef("lvs0"))
	if !ok || lvs.ClusterSize != 4<<20 || lvs.FreeBytes != 59*4<<20 || lvs.BaseBdev != "Malloc0" {
		t.Fatalf("lvstore = %+v, %v", lvs, ok)
	}
	if !g.Trustworthy(lvs.UUID) {
		t.Fatal("lvs0 not trustworthy")
	}
	snap, ok := g.Lvol(ParseRef("lvs0/snap1"))
	if !ok {
		t.Fatal("snap1 not found by alias")
	}
	if byUUID, ok := g.Lvol(ParseRef(string(snap.UUID))); !ok || byUUID != snap {
		t.Fatal("snap1 not found by UUID")
	}
	if got := names(g.Children(snap)); !slices.Equal(got, []string{"clone1", "thin2", "vol1"}) {
		t.Errorf("children of snap1 = %v", got)
	}
	if !snap.Snapshot || snap.Thin || snap.Allocated != 4*4<<20 || snap.Size != 16<<20 {
		t.Errorf("snap1 = %+v", snap)
	}
	vol1, _ := g.Lvol(ParseRef("lvs0/vol1"))
	if p, ok := g.Parent(vol1); !ok || p != snap || vol1.Parent.Kind != ParentLvol {
		t.Errorf("parent of vol1 = %v, %v", p, ok)
	}
	// esnapclone1 reads from malloc bi0 by UUID; bi0 is not an lvol.
	ec, _ := g.Lvol(ParseRef("lvs0/esnapclone1"))
	bi0, ok := g.Bdev("bi0")
	if !ok || ec.Parent.Kind != ParentExternal || ec.Parent.Bdev != bi0.UUID || ec.Parent.Lvol != "" {
		t.Errorf("esnapclone1 parent = %+v, bi0 = %+v", ec.Parent, bi0)
	}
	if got := names(g.EsnapClones(bi0.UUID)); !slices.Equal(got, []string{"esnapclone1"}) {
		t.Errorf("esnap clones of bi0 = %v", got)
	}
	if got := names(g.Roots(lvs.UUID)); !slices.Equal(got, []string{"esnapclone1", "snap1", "thin1", "thin3"}) {
		t.Errorf("roots = %v", got)
	}
	if len(g.Lvols(lvs.UUID)) != 7 || g.Len() != 7 || len(g.Bdevs()) != 3 {
		t.Errorf("counts: lvols %d, len %d, bdevs %d", len(g.Lvols(lvs.UUID)), g.Len(), len(g.Bdevs()))
	}
}

func TestBuild_anomalies(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		edit    func(*Inputs)
		want    []AnomalyKind
	}{
		{"esnap base deleted (recorded 208/209)", "esnap-base-gone.json", nil, []AnomalyKind{AnomalyMissingExternal}},
		{"half-applied snapshot rename (sharp edge 6)", "half-rename.json", nil, []AnomalyKind{AnomalyAliasMismatch}},
		{"clone whose parent is missing", "transcript.json", func(in *Inputs) {
			in.Bdevs = slices.DeleteFunc(in.Bdevs, func(b spdkrpc.Bdev) bool { return len(b.Aliases) > 0 && b.Aliases[0] == "lvs0/snap1" })
			in.Lvols = slices.DeleteFunc(in.Lvols, func(l spdkrpc.Lvol) bool { return l.Name == "snap1" })
		}, []AnomalyKind{AnomalyMissingParent}},
		{"lvol not listed by bdev_get_bdevs", "transcript.json", func(in *Inputs) {
			in.Bdevs = slices.DeleteFunc(in.Bdevs, func(b spdkrpc.Bdev) bool { return len(b.Aliases) > 0 && b.Aliases[0] == "lvs0/thin1" })
		}, []AnomalyKind{AnomalyNoBdev}},
		{"degraded lvol", "transcript.json", func(in *Inputs) {
			in.Lvols[1].IsDegraded = true
		}, []AnomalyKind{AnomalyDegraded}},
		{"duplicated lvol UUID", "transcript.json", func(in *Inputs) {
			in.Lvols = append(in.Lvols, in.Lvols[1])
		}, []AnomalyKind{AnomalyDuplicateUUID}},
		{"duplicated lvol name", "transcript.json", func(in *Inputs) {
			in.Lvols[1].Name = "vol1"
		}, []AnomalyKind{AnomalyDuplicateName}},
		{"clones list disagrees with base_snapshot", "transcript.json", func(in *Inputs) {
			for i := range in.Bdevs {
				if info, ok := in.Bdevs[i].LvolInfo(); ok && info.Snapshot {
					info.Clones = info.Clones[:2]
				}
			}
		}, []AnomalyKind{AnomalyClonesMismatch}},
		{"lvstore not listed", "transcript.json", func(in *Inputs) {
			in.Lvstores = nil
		}, []AnomalyKind{AnomalyLvstoreUnlisted}},
		{"clone of a non-snapshot", "transcript.json", func(in *Inputs) {
			for i := range in.Bdevs {
				if info, ok := in.Bdevs[i].LvolInfo(); ok && info.Snapshot {
					info.Snapshot = false
				}
			}
			for i := range in.Lvols {
				in.Lvols[i].IsSnapshot = false
			}
		}, []AnomalyKind{AnomalyParentNotSnap}},
		{"listings disagree on flags", "transcript.json", func(in *Inputs) {
			in.Lvols[1].IsClone = true
		}, []AnomalyKind{AnomalyFlagsMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loadFixture(t, tt.fixture, nil)
			if tt.edit != nil {
				tt.edit(&in)
			}
			g := Build(1, time.Time{}, in)
			var kinds []AnomalyKind
			for _, a := range g.Anomalies() {
				if !slices.Contains(kinds, a.Kind) {
					kinds = append(kinds, a.Kind)
				}
			}
			for _, k := range tt.want {
				if !slices.Contains(kinds, k) {
					t.Errorf("anomalies %v lack %s", g.Anomalies(), k)
				}
			}
			for _, s := range g.Lvstores() {
				if g.Trustworthy(s.UUID) {
					t.Errorf("lvstore %s trustworthy despite %v", s.Name, kinds)
				}
			}
			total := 0
			for _, s := range g.Lvstores() {
				total += len(g.Lvols(s.UUID))
			}
			if total != g.Len() {
				t.Errorf("Lvols over all lvstores = %d, graph has %d", total, g.Len())
			}
		})
	}
}
