package lvolgraph

import (
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// TestLvol_aliasOfLvstoreNameWithSlash: SPDK checks neither lvstore nor lvol
// names for '/', so "a/b/s" may be lvol "s" of lvstore "a/b". Splitting an
// alias at its first slash looked for lvstore "a", found nothing, and the
// guard answered "not found", which the agent treats as "let SPDK answer":
// SPDK then deleted a snapshot with one clone and merged it into the clone.
func TestLvol_aliasOfLvstoreNameWithSlash(t *testing.T) {
	s := newScene()
	s.add("a/b", "s", true, "")
	s.add("a/b", "v", false, "s")
	s.add("x", "y/z", true, "")
	s.add("x", "w", false, "y/z")
	g := s.graph()
	for _, tt := range []struct {
		alias string
		name  spdkrpc.LvolName
		dep   spdkrpc.LvolAlias
	}{
		{"a/b/s", "s", "a/b/v"},
		{"x/y/z", "y/z", "x/w"},
	} {
		l, ok := g.Lvol(ParseRef(tt.alias))
		if !ok || l.Name != tt.name {
			t.Fatalf("Lvol(%s) = %v, %v; want lvol %s", tt.alias, l, ok, tt.name)
		}
		d := g.CheckDeleteLvol(ParseRef(tt.alias))
		if d.Allowed || d.Rule != RuleHasDependents || len(d.Dependents) != 1 || d.Dependents[0] != tt.dep {
			t.Errorf("CheckDeleteLvol(%s) = %+v, want has-dependents %s", tt.alias, d, tt.dep)
		}
		if d := g.CheckDeleteBdev(spdkrpc.BdevName(tt.alias)); d.Allowed || d.Rule != RuleHasDependents {
			t.Errorf("CheckDeleteBdev(%s) = %+v, want has-dependents", tt.alias, d)
		}
	}
}

// TestLvol_aliasAmbiguousAcrossLvstores: when "a/b/c" could be lvol "b/c" of
// lvstore "a" or lvol "c" of lvstore "a/b" (SPDK keeps bdev aliases unique,
// so this is a listing the graph cannot trust), the lookup says neither, and
// the guard refuses rather than answering "not found".
func TestLvol_aliasAmbiguousAcrossLvstores(t *testing.T) {
	s := newScene()
	l := s.add("a", "b/c", false, "")
	// The scene derives UUIDs from aliases, which are the same here.
	delete(s.lvols, l.uuid)
	l.uuid = spdkrpc.LvolUUID(fakeUUID("first a/b/c"))
	s.lvols[l.uuid], s.order[len(s.order)-1] = l, l.uuid
	s.add("a/b", "c", false, "")
	g := s.graph()
	if l, ok := g.Lvol(ParseRef("a/b/c")); ok {
		t.Fatalf("Lvol(a/b/c) = %s of %s, want ambiguous", l.Name, l.LvstoreUUID)
	}
	for _, d := range []Decision{g.CheckDeleteLvol(ParseRef("a/b/c")), g.CheckDeleteBdev("a/b/c")} {
		if d.Allowed || d.Unknown() || d.Rule != RuleGraphAnomaly {
			t.Errorf("decision = %+v, want a graph-anomaly refusal", d)
		}
	}
}

// TestBuild_bdevOnlyLvolOfLvstoreNameWithSlash: an lvol that only
// bdev_get_bdevs lists takes its name from its alias; the lvstore's name is
// cut off whole, not at the alias's first slash.
func TestBuild_bdevOnlyLvolOfLvstoreNameWithSlash(t *testing.T) {
	s := newScene()
	s.add("a/b", "s", true, "")
	s.add("a/b", "v", false, "s")
	in := s.inputs()
	in.Lvols = nil
	g := Build(1, testTime, in)
	l, ok := g.Lvol(ParseRef("a/b/s"))
	if !ok || l.Name != "s" {
		t.Fatalf("Lvol(a/b/s) = %v, %v; want lvol s", l, ok)
	}
	if d := g.CheckDeleteLvol(ParseRef("a/b/s")); d.Allowed || d.Unknown() {
		t.Errorf("CheckDeleteLvol(a/b/s) = %+v, want a refusal", d)
	}
}
