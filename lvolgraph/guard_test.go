package lvolgraph

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func TestCheckDelete_transcript(t *testing.T) {
	g := Build(1, time.Time{}, loadFixture(t, "transcript.json", nil))
	bi0, _ := g.Bdev("bi0")
	tests := []struct {
		name    string
		check   func() Decision
		allowed bool
		rule    Rule
		dep     spdkrpc.LvolAlias
	}{
		{"snapshot with three clones", func() Decision { return g.CheckDeleteLvol(ParseRef("lvs0/snap1")) }, false, RuleHasDependents, "lvs0/clone1"},
		{"clone without clones", func() Decision { return g.CheckDeleteLvol(ParseRef("lvs0/clone1")) }, true, "", ""},
		{"unknown lvol", func() Decision { return g.CheckDeleteLvol(ParseRef("lvs0/nope")) }, false, RuleNotFound, ""},
		{"non-empty lvstore by name", func() Decision { return g.CheckDeleteLvstore(ParseRef("lvs0")) }, false, RuleLvstoreNotEmpty, "lvs0/vol1"},
		{"unknown lvstore", func() Decision { return g.CheckDeleteLvstore(ParseRef("lvs9")) }, false, RuleNotFound, ""},
		{"lvstore base bdev", func() Decision { return g.CheckDeleteBdev("Malloc0") }, false, RuleLvstoreBase, "lvs0/thin1"},
		{"esnap base by name", func() Decision { return g.CheckDeleteBdev("bi0") }, false, RuleBackingImage, "lvs0/esnapclone1"},
		{"esnap base by UUID alias", func() Decision { return g.CheckDeleteBdev(spdkrpc.BdevName(bi0.UUID)) }, false, RuleBackingImage, "lvs0/esnapclone1"},
		{"lvol bdev by its name", func() Decision {
			l, _ := g.Lvol(ParseRef("lvs0/thin1"))
			return g.CheckDeleteBdev(spdkrpc.BdevName(l.UUID))
		}, true, "", ""},
		{"lvol bdev by its alias", func() Decision { return g.CheckDeleteBdev("lvs0/snap1") }, false, RuleHasDependents, "lvs0/thin2"},
		{"unknown bdev", func() Decision { return g.CheckDeleteBdev("Malloc7") }, false, RuleNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.check()
			if d.Allowed != tt.allowed || d.Rule != tt.rule {
				t.Fatalf("decision = %+v", d)
			}
			if tt.dep != "" && !slices.Contains(d.Dependents, tt.dep) {
				t.Errorf("dependents %v lack %s", d.Dependents, tt.dep)
			}
			if d.Reason == "" || d.Unknown() != (tt.rule == RuleNotFound) {
				t.Errorf("reason %q, unknown %v", d.Reason, d.Unknown())
			}
		})
	}
}

func TestCheckDelete_lvolEsnapBaseAndUntrustworthy(t *testing.T) {
	s := newScene()
	base := s.add("lvs0", "golden", false, "")
	s.esnap("lvs1", "vol", spdkrpc.BdevUUID(base.uuid))
	s.store("lvs2")
	g := s.graph()
	if d := g.CheckDeleteLvol(UUIDRef(base.uuid)); d.Allowed || d.Rule != RuleBackingImage || !strings.Contains(d.Reason, "hang") {
		t.Errorf("lvol esnap base: %+v", d)
	}
	if d := g.CheckDeleteLvstore(ParseRef("lvs2")); !d.Allowed {
		t.Errorf("empty lvstore: %+v", d)
	}
	in := s.inputs()
	in.Lvols[1].IsDegraded = true
	g = Build(2, time.Time{}, in)
	d := g.CheckDeleteLvol(ParseRef("lvs1/vol"))
	if d.Allowed || d.Rule != RuleGraphIncomplete {
		t.Errorf("degraded lvstore: %+v", d)
	}
	b, err := json.Marshal(d)
	if err != nil || !strings.Contains(string(b), `"rule":"graph-incomplete"`) || !strings.Contains(string(b), `"allowed":false`) {
		t.Errorf("json = %s, %v", b, err)
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want RefKind
	}{
		{"800da8bc-906e-491c-b27d-26686b407e9b", RefUUID},
		{"800DA8BC-906E-491C-B27D-26686B407E9B", RefUUID},
		{"lvs0/vol1", RefAlias},
		{"lvs0/a/b", RefAlias},
		{"vol1", RefName},
		{"800da8bc-906e-491c-b27d-26686b407e9", RefName},
		{"800da8bc-906e-491c-b27d-26686b407e9g", RefName},
		{"800da8bc_906e-491c-b27d-26686b407e9b", RefName},
	}
	for _, tt := range tests {
		if got := ParseRef(tt.in); got.Kind != tt.want || got.Value != tt.in {
			t.Errorf("ParseRef(%q) = %v, want kind %v", tt.in, got, tt.want)
		}
	}
	if (Ref{}).Valid() || !NameRef("x").Valid() {
		t.Error("Valid")
	}
}

func TestDefaultOwnership(t *testing.T) {
	tests := []struct {
		replica, name string
		owns          bool
	}{
		{"r-1", "r-1", true},
		{"r-1", "r-1-snap-a", true},
		{"r-1", "r-10-snap-a", false},
		{"r-1", "r-10", false},
		{"r-1", "r-1-snap-", false},
		{"r-1", "r-1-rebuilding", true},
		{"r-1", "r-1-rebuilding-2", false},
		{"r-1", "r-1-expired-00ff", true},
		{"r-1", "r-1-expired-xyz", false},
		{"r-1", "r-1-clone-ep-s1", true},
		{"pvc-abc-r-1", "pvc-abc-r-1-snap-s", true},
		{"pvc-abc", "pvc-abc-r-1-snap-s", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := DefaultOwnership.Owns(tt.replica, spdkrpc.LvolName(tt.name)); got != tt.owns {
			t.Errorf("Owns(%q, %q) = %v", tt.replica, tt.name, got)
		}
	}
	for name, bi := range map[string]bool{"bi-img-disk-800da8bc": true, "bi-a-b-disk-x": true, "bi--disk-": false, "bi-img": false, "r-1": false} {
		if got := DefaultOwnership.BackingImage(spdkrpc.LvolName(name)); got != bi {
			t.Errorf("BackingImage(%q) = %v", name, got)
		}
	}
}

func TestRef_JSON(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
		err  bool
	}{
		{`"lvs0"`, Ref{RefName, "lvs0"}, false},
		{`"lvs0/vol1"`, Ref{RefAlias, "lvs0/vol1"}, false},
		{`{"kind":"name","value":"800da8bc-906e-491c-b27d-26686b407e9b"}`, Ref{RefName, "800da8bc-906e-491c-b27d-26686b407e9b"}, false},
		{`{"kind":"uuid","value":"x"}`, Ref{RefUUID, "x"}, false},
		{`{"kind":"label","value":"x"}`, Ref{}, true},
		{`{"kind":"name"}`, Ref{}, true},
		{`""`, Ref{}, true},
		{`[1]`, Ref{}, true},
	}
	for _, tt := range tests {
		var r Ref
		err := json.Unmarshal([]byte(tt.in), &r)
		if (err != nil) != tt.err || !tt.err && r != tt.want {
			t.Errorf("%s: %#v, %v", tt.in, r, err)
		}
		if err != nil && !errors.Is(err, ErrBadRef) {
			t.Errorf("%s: error %v is not ErrBadRef", tt.in, err)
		}
	}
}

func TestCheckDelete_countsInReasons(t *testing.T) {
	s := newScene()
	s.add("lvs0", "snap", true, "")
	s.add("lvs0", "vol", false, "snap")
	s.add("lvs0", "snap2", true, "")
	s.add("lvs0", "a", false, "snap2")
	s.add("lvs0", "b", false, "snap2")
	base := s.add("lvs1", "base", false, "")
	s.esnap("lvs2", "e", spdkrpc.BdevUUID(base.uuid))
	g := s.graph()
	for _, tt := range []struct {
		d    Decision
		want string
	}{
		{g.CheckDeleteLvol(ParseRef("lvs0/snap")), "lvs0/snap has 1 clone and 1 lvol reading from it in all"},
		{g.CheckDeleteLvol(ParseRef("lvs0/snap2")), "lvs0/snap2 has 2 clones and 2 lvols reading from it in all"},
		{g.CheckDeleteLvol(ParseRef("lvs1/base")), "lvs1/base is the external snapshot of 1 lvol (1 lvol reading from it in all)"},
		{g.CheckDeleteLvstore(ParseRef("lvs1")), "holds 1 lvol, which"},
		{g.CheckDeleteLvstore(ParseRef("lvs0")), "holds 5 lvols, which"},
	} {
		if !strings.Contains(tt.d.Reason, tt.want) {
			t.Errorf("reason %q, want it to contain %q", tt.d.Reason, tt.want)
		}
	}
}
