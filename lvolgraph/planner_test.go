package lvolgraph

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// greedyOwnership is the naming logic of the incident: every backing-image
// lvol on the lvstore counted as the replica's "extra" lvols, and nothing
// was recognised as a backing image.
type greedyOwnership struct{}

func (greedyOwnership) Owns(replica string, name spdkrpc.LvolName) bool {
	return DefaultOwnership.Owns(replica, name) || strings.HasPrefix(string(name), "bi-")
}
func (greedyOwnership) BackingImage(spdkrpc.LvolName) bool { return false }

// incidentScene: volume A's replica sits on backing image bi-img1; volume
// B's replica has no backing image.
func incidentScene() (*scene, string) {
	s := newScene()
	bi := "bi-img1-disk-" + string(s.store("lvs0").uuid)
	s.add("lvs0", bi, true, "")
	s.add("lvs0", "pvc-a-r-1-snap-s1", true, bi)
	s.add("lvs0", "pvc-a-r-1", false, "pvc-a-r-1-snap-s1")
	s.add("lvs0", "pvc-b-r-2-snap-s1", true, "")
	s.add("lvs0", "pvc-b-r-2-snap-s2", true, "pvc-b-r-2-snap-s1")
	s.add("lvs0", "pvc-b-r-2", false, "pvc-b-r-2-snap-s2")
	return s, bi
}

func planNames(p Plan) []string {
	out := make([]string, len(p.Delete))
	for i, st := range p.Delete {
		_, n, _ := st.Alias.Split()
		out[i] = string(n)
	}
	return out
}

func refusal(p Plan, name string) (Refusal, bool) {
	for _, r := range p.Refused {
		if _, n, _ := r.Alias.Split(); string(n) == name {
			return r, true
		}
	}
	return Refusal{}, false
}

// execute runs a plan against the scene's SPDK model and fails on any step
// SPDK would refuse.
func execute(t *testing.T, s *scene, p Plan) {
	t.Helper()
	for _, st := range p.Delete {
		if cs := s.clones(st.UUID); len(cs) > 0 {
			t.Fatalf("step %s: deleting an lvol with %d clones would merge or fail", st.Alias, len(cs))
		}
		if err := s.delete(st.UUID); err != nil {
			t.Fatalf("step %s: %v", st.Alias, err)
		}
	}
}

func TestPlanCleanup_incidentRebuildLeavesOtherChain(t *testing.T) {
	s, bi := incidentScene()
	g := Build(1, time.Time{}, loadFixture(t, "incident.json", s))
	before := s.ancestors(s.byName("lvs0", "pvc-a-r-1").uuid)
	for _, own := range []Ownership{DefaultOwnership, greedyOwnership{}} {
		p, err := PlanCleanup(g, CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: "pvc-b-r-2", Ownership: own})
		if err != nil {
			t.Fatal(err)
		}
		if got := planNames(p); !slices.Equal(got, []string{"pvc-b-r-2", "pvc-b-r-2-snap-s2", "pvc-b-r-2-snap-s1"}) {
			t.Errorf("%T: plan = %v", own, got)
		}
		if slices.Contains(planNames(p), bi) {
			t.Fatalf("%T: plan deletes the backing image", own)
		}
	}
	// With the greedy naming, the backing image is a candidate and the
	// structure refuses it: another owner's lvols read from it.
	p, _ := PlanCleanup(g, CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: "pvc-b-r-2", Ownership: greedyOwnership{}})
	r, ok := refusal(p, bi)
	if !ok || r.Rule != RuleBackingImage || !slices.Contains(r.Involved, "lvs0/pvc-a-r-1") {
		t.Errorf("backing image refusal = %+v, %v", r, ok)
	}
	execute(t, s, p)
	if after := s.ancestors(s.byName("lvs0", "pvc-a-r-1").uuid); !slices.Equal(before, after) {
		t.Errorf("chain of pvc-a-r-1 changed: %v -> %v", before, after)
	}
}

func TestPlanCleanup_incidentSecondBackingImage(t *testing.T) {
	s, bi1 := incidentScene()
	bi2 := "bi-img2-disk-" + string(s.store("lvs0").uuid)
	s.add("lvs0", bi2, true, "")
	s.add("lvs0", "pvc-c-r-3", false, bi2)
	g := s.graph()
	p, err := PlanCleanup(g, CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: "pvc-c-r-3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := planNames(p); !slices.Equal(got, []string{"pvc-c-r-3"}) {
		t.Errorf("plan = %v", got)
	}
	if r, ok := refusal(p, bi2); !ok || r.Rule != RuleBackingImage {
		t.Errorf("refusal of %s = %+v, %v", bi2, r, ok)
	}
	if _, ok := refusal(p, bi1); ok {
		t.Errorf("%s is not in pvc-c-r-3's chain but was a candidate", bi1)
	}
	execute(t, s, p)
	if s.byName("lvs0", bi2) == nil || s.byName("lvs0", bi1) == nil {
		t.Fatal("a backing image was deleted")
	}
}

func TestPlanCleanup_incidentBackingImageWithOneClone(t *testing.T) {
	// bi-img1 has exactly one clone (A's snapshot): SPDK would accept its
	// deletion and merge it into A's chain.
	s, bi := incidentScene()
	g := s.graph()
	biLvol, _ := g.Lvol(AliasRef(spdkrpc.MakeAlias("lvs0", spdkrpc.LvolName(bi))))
	if len(biLvol.Children) != 1 {
		t.Fatalf("backing image has %d clones, want 1", len(biLvol.Children))
	}
	if d := g.CheckDeleteLvol(UUIDRef(biLvol.UUID)); d.Allowed || d.Rule != RuleBackingImage ||
		!slices.Contains(d.Dependents, "lvs0/pvc-a-r-1-snap-s1") {
		t.Errorf("guard on the backing image = %+v", d)
	}
	// Even a naming scheme that claims it for A's replica cannot plan it.
	p, err := PlanCleanup(g, CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: "pvc-b-r-2", Ownership: greedyOwnership{}})
	if err != nil {
		t.Fatal(err)
	}
	execute(t, s, p)
	if s.byName("lvs0", bi) == nil || s.byName("lvs0", "pvc-a-r-1-snap-s1").parent != biLvol.UUID {
		t.Fatal("A's chain lost its backing image")
	}
}

func TestPlanCleanup_prefixSharingReplicas(t *testing.T) {
	s := newScene()
	s.add("lvs0", "r-1-snap-a", true, "")
	s.add("lvs0", "r-1", false, "r-1-snap-a")
	s.add("lvs0", "r-10-snap-a", true, "")
	s.add("lvs0", "r-10", false, "r-10-snap-a")
	s.add("lvs0", "pvc-abc-r-1-snap-x", true, "")
	s.add("lvs0", "pvc-abc-r-1", false, "pvc-abc-r-1-snap-x")
	s.add("lvs0", "pvc-abc-r-1-expired-0a1b", false, "")
	s.add("lvs0", "pvc-abc-r-1-rebuilding", false, "")
	s.add("lvs0", "pvc-abc-r-1-expired-zz", false, "") // not hex: not an expired head
	g := s.graph()
	tests := []struct {
		replica string
		want    []string
	}{
		{"r-1", []string{"r-1", "r-1-snap-a"}},
		{"r-10", []string{"r-10", "r-10-snap-a"}},
		{"pvc-abc-r-1", []string{"pvc-abc-r-1", "pvc-abc-r-1-expired-0a1b", "pvc-abc-r-1-rebuilding", "pvc-abc-r-1-snap-x"}},
		{"pvc-abc", nil},
		{"r", nil},
	}
	for _, tt := range tests {
		p, err := PlanCleanup(g, CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: tt.replica})
		if err != nil {
			t.Fatal(err)
		}
		got := planNames(p)
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("replica %s: plan = %v, want %v", tt.replica, got, tt.want)
		}
	}
}

// namedGreedyOwnership gives the replica every bi- name but still knows
// backing images by name.
type namedGreedyOwnership struct{ greedyOwnership }

func (namedGreedyOwnership) BackingImage(n spdkrpc.LvolName) bool {
	return DefaultOwnership.BackingImage(n)
}

func TestPlanCleanup_rules(t *testing.T) {
	// chain builds root <- b-snap-1 <- b-snap-2 <- b in lvs0.
	chain := func(root string) *scene {
		s := newScene()
		s.add("lvs0", root, true, "")
		s.add("lvs0", "b-snap-1", true, root)
		s.add("lvs0", "b-snap-2", true, "b-snap-1")
		s.add("lvs0", "b", false, "b-snap-2")
		return s
	}
	tests := []struct {
		name   string
		root   string
		edit   func(*scene)
		mangle func(*Inputs)
		keep   []Ref
		own    Ownership
		lvol   string
		rule   Rule
		inv    string
		reason string // a part of the reason, when it matters
	}{
		{name: "kept", keep: []Ref{ParseRef("b-snap-2")}, lvol: "b-snap-2", rule: RuleKept},
		{name: "ancestor of kept", keep: []Ref{ParseRef("lvs0/b-snap-2")}, lvol: "b-snap-1", rule: RuleAncestorOfKept, inv: "lvs0/b-snap-2"},
		{name: "not owned", lvol: "orphan", rule: RuleNotOwned},
		{name: "backing image by name", root: "bi-x-disk-1", lvol: "bi-x-disk-1", rule: RuleBackingImage,
			reason: "lvs0/bi-x-disk-1 is named as a backing image"},
		{name: "backing image by structure", edit: func(s *scene) { s.add("lvs0", "other", false, "b-snap-1") },
			lvol: "b-snap-1", rule: RuleBackingImage, inv: "lvs0/other",
			reason: "lvs0/b-snap-1 is a backing image of other's chain: its clone lvs0/other is owned by other"},
		{name: "backing image by structure and name", root: "bi-x-disk-1", edit: func(s *scene) {
			s.add("lvs0", "pvc-a-r-1-snap-s", true, "bi-x-disk-1")
			s.add("lvs0", "pvc-a-r-1", false, "pvc-a-r-1-snap-s")
			s.add("lvs0", "r-7", false, "bi-x-disk-1")
		}, lvol: "bi-x-disk-1", rule: RuleBackingImage, inv: "lvs0/r-7",
			reason: "lvs0/bi-x-disk-1 is a backing image of the chains of pvc-a-r-1, r-7: "},
		{name: "backing image of many chains", root: "bi-x-disk-1", edit: func(s *scene) {
			for _, r := range []string{"r-1", "r-2", "r-3", "r-4", "r-5", "r-6", "r-7"} {
				s.add("lvs0", r, false, "bi-x-disk-1")
			}
		}, lvol: "bi-x-disk-1", rule: RuleBackingImage, inv: "lvs0/r-7",
			reason: "lvs0/bi-x-disk-1 is a backing image of the chains of r-1, r-2, r-3, r-4, r-5 and 2 more: "},
		{name: "reader deeper down", edit: func(s *scene) {
			s.add("lvs0", "b-snap-x", true, "b-snap-1")
			s.add("lvs0", "r-9", false, "b-snap-x")
		}, lvol: "b-snap-1", rule: RuleBackingImage, inv: "lvs0/r-9",
			reason: "lvs0/b-snap-1 is a backing image of r-9's chain: lvs0/r-9 reads from it and is owned by r-9"},
		{name: "has dependents", own: namedGreedyOwnership{}, edit: func(s *scene) { s.add("lvs0", "bi-y-disk-2", false, "b-snap-2") },
			lvol: "b-snap-2", rule: RuleHasDependents, inv: "lvs0/bi-y-disk-2"},
		{name: "esnap base", edit: func(s *scene) {
			s.esnap("lvs1", "vol-elsewhere", spdkrpc.BdevUUID(s.byName("lvs0", "b").uuid))
		}, lvol: "b", rule: RuleBackingImage, inv: "lvs1/vol-elsewhere"},
		{name: "graph anomaly", lvol: "b", rule: RuleGraphAnomaly, mangle: func(in *Inputs) {
			in.Lvols = append(in.Lvols, in.Lvols[0])
		}},
		{name: "graph incomplete", lvol: "b", rule: RuleGraphIncomplete, mangle: func(in *Inputs) {
			in.Bdevs = in.Bdevs[:len(in.Bdevs)-1]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.root
			if root == "" {
				root = "orphan"
			}
			s := chain(root)
			if tt.edit != nil {
				tt.edit(s)
			}
			in := s.inputs()
			if tt.mangle != nil {
				tt.mangle(&in)
			}
			g := Build(1, time.Time{}, in)
			p, err := PlanCleanup(g, CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: "b", Keep: tt.keep, Ownership: tt.own})
			if err != nil {
				t.Fatal(err)
			}
			r, ok := refusal(p, tt.lvol)
			if !ok || r.Rule != tt.rule {
				t.Fatalf("refusal of %s = %+v, %v; plan %v refused %+v", tt.lvol, r, ok, planNames(p), p.Refused)
			}
			if tt.inv != "" && !slices.Contains(r.Involved, spdkrpc.LvolAlias(tt.inv)) {
				t.Errorf("involved = %v, want %s", r.Involved, tt.inv)
			}
			if !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("reason %q, want it to contain %q", r.Reason, tt.reason)
			}
			if !strings.Contains(r.Reason, tt.lvol) && tt.rule != RuleGraphAnomaly && tt.rule != RuleGraphIncomplete {
				t.Errorf("reason %q does not name %s", r.Reason, tt.lvol)
			}
			if slices.Contains(planNames(p), tt.lvol) {
				t.Errorf("plan deletes refused %s", tt.lvol)
			}
			if tt.mangle == nil {
				execute(t, s, p)
			}
		})
	}
}

func TestPlanCleanup_errors(t *testing.T) {
	s, _ := incidentScene()
	g := s.graph()
	tests := []struct {
		req  CleanupRequest
		want error
	}{
		{CleanupRequest{Lvstore: ParseRef("nope"), Replica: "pvc-b-r-2"}, ErrLvstoreNotFound},
		{CleanupRequest{Lvstore: ParseRef("lvs0")}, ErrBadRequest},
		{CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: "pvc-b-r-2", Keep: []Ref{ParseRef("snap-typo")}}, ErrKeepNotFound},
		{CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: "pvc-b-r-2", Keep: []Ref{{}}}, ErrBadRequest},
	}
	for _, tt := range tests {
		if _, err := PlanCleanup(g, tt.req); !errors.Is(err, tt.want) {
			t.Errorf("PlanCleanup(%+v) = %v, want %v", tt.req, err, tt.want)
		}
	}
	// A replica with no lvols is not an error: there is nothing to do.
	p, err := PlanCleanup(g, CleanupRequest{Lvstore: ParseRef("lvs0"), Replica: "pvc-z-r-9"})
	if err != nil || len(p.Delete) != 0 || len(p.Refused) != 0 {
		t.Errorf("empty replica: %+v, %v", p, err)
	}
}
