package guard

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// stackState is a node recorded from a real spdk_tgt v26.05:
//
//	M0 -split-> M0p0 (lvsA: v1 -> lvsN: n1), M0p1 (free)
//	M1 -passthru-> P1 (lvsP: esB <- img, esC <- lvsR/vA)
//	M2+M3 -raid1-> R0 (lvsR: snapA <- vA, cloneA; esA <- img)
//	img: a malloc backing image with two esnap clones
func stackState(t testing.TB) *State {
	t.Helper()
	s, err := NewState(stackRead(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stackRead is the recorded read behind stackState.
func stackRead(t testing.TB) Read {
	t.Helper()
	raw, err := os.ReadFile("testdata/stack.json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Bdevs    json.RawMessage `json:"bdev_get_bdevs"`
		Lvstores json.RawMessage `json:"bdev_lvol_get_lvstores"`
		Lvols    json.RawMessage `json:"bdev_lvol_get_lvols"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return Read{Bdevs: r.Bdevs, Lvstores: r.Lvstores, Lvols: r.Lvols}
}

const (
	uuidVA    = "15f1cc00-4861-4293-9634-1e1892359552"
	uuidSnapA = "fda8510a-51ec-4b2b-990b-2cb859fa59d1"
	uuidEsA   = "cb3214ee-c976-4512-b060-8f65524ffe06"
	uuidV1    = "6fe662c7-7f65-4fff-8514-a8bf5dd666f1"
	uuidLvsN  = "c1fe2ce2-dd2f-4c55-9cf7-62c15c68bca7"
	uuidM0    = "072bd4c6-55cb-4cf1-b884-ac1b5bb6f229"
)

func TestDecideOnARealStack(t *testing.T) {
	s := stackState(t)
	for _, tt := range []struct {
		method, params string
		rule           string // "" = allowed
		forward        string // the params forwarded, when allowed and given
		dependent      string // one dependent a refusal must name
	}{
		// Removals at every depth of the stack.
		{"bdev_malloc_delete", `{"name":"M0"}`, RuleHasDependents, "", "M0p0"},
		{"bdev_malloc_delete", `{"name":"` + uuidM0 + `"}`, RuleHasDependents, "", "M0p0"},
		{"bdev_split_delete", `{"base_bdev":"M0"}`, RuleLvstoreBase, "", "lvstore lvsA"},
		{"bdev_lvol_delete", `{"name":"lvsA/v1"}`, RuleLvstoreBase, "", "lvsN/n1"},
		{"bdev_passthru_delete", `{"name":"P1"}`, RuleLvstoreBase, "", "lvsP/esC"},
		{"bdev_raid_delete", `{"name":"R0"}`, RuleLvstoreBase, "", "lvsR/cloneA"},
		{"bdev_malloc_delete", `{"name":"M2"}`, RuleHasDependents, "", "R0"},
		{"bdev_raid_remove_base_bdev", `{"name":"M2"}`, "", `{"name":"M2"}`, ""},
		{"bdev_malloc_delete", `{"name":"img"}`, RuleBackingImage, "", "lvsP/esB"},
		{"bdev_lvol_delete", `{"name":"lvsR/vA"}`, RuleBackingImage, "", "lvsP/esC"},
		{"bdev_malloc_delete", `{"name":"M0p1"}`, "", `{"name":"M0p1"}`, ""},
		// Resolution as SPDK's: a UUID in capitals, lvs/name.
		{"bdev_lvol_delete", `{"name":"` + strings.ToUpper(uuidSnapA) + `"}`, RuleHasDependents, "", "lvsR/cloneA"},
		{"bdev_lvol_delete", `{"name":"lvsR/esA"}`, "", `{"name":"` + uuidEsA + `"}`, ""},
		{"bdev_lvol_delete", `{"name":"` + strings.ToUpper(uuidEsA) + `"}`, "", `{"name":"` + uuidEsA + `"}`, ""},
		{"bdev_lvol_delete", `{"name":"lvsR/nothing"}`, "", `{"name":"lvsR/nothing"}`, ""},
		{"bdev_lvol_delete_lvstore", `{"lvs_name":"lvsN"}`, RuleLvstoreEmpty, "", "lvsN/n1"},
		{"bdev_lvol_delete_lvstore", `{"uuid":"` + strings.ToUpper(uuidLvsN) + `"}`, RuleLvstoreEmpty, "", "lvsN/n1"},
		// Chain rewrites.
		{"bdev_lvol_set_parent", `{"lvol_name":"lvsR/snapA","parent_name":"lvsR/vA"}`, RuleCycle, "", ""},
		{"bdev_lvol_decouple_parent", `{"name":"lvsR/snapA"}`, RuleChainRewrite, "", "lvsR/vA"},
		{"bdev_lvol_inflate", `{"name":"lvsR/cloneA"}`, "", `{"name":"b8b3824f-9dad-4763-b410-2253b08f785e"}`, ""},
		{"bdev_lvol_set_parent_bdev", `{"lvol_name":"lvsR/vA","parent_name":"img"}`, RuleChainRewrite, "", "lvsP/esC"},
		{"bdev_lvol_set_parent_bdev", `{"lvol_name":"lvsR/esA","parent_name":"M0"}`, RuleClaimedParent, "", ""},
		{"bdev_lvol_set_parent_bdev", `{"lvol_name":"lvsR/esA","parent_name":"M0p1"}`, "", `{"lvol_name":"` + uuidEsA + `","parent_name":"M0p1"}`, ""},
		{"bdev_lvol_clone_bdev", `{"bdev":"img","lvs_name":"lvsR","clone_name":"esD"}`, "", "", ""},
		{"bdev_lvol_clone_bdev", `{"bdev":"P1","lvs_name":"lvsR","clone_name":"esD"}`, RuleClaimedParent, "", ""},
		{"bdev_lvol_clone_bdev", `{"bdev":"lvsA/v1","lvs_name":"lvsR","clone_name":"esD"}`, RuleClaimedParent, "", ""},
		// Resizes, copies, renames.
		{"bdev_lvol_resize", `{"name":"lvsA/v1","size_in_mib":4}`, RuleShrink, "", "lvstore lvsN"},
		{"bdev_lvol_resize", `{"name":"lvsA/v1","size_in_mib":12}`, "", `{"name":"` + uuidV1 + `","size_in_mib":12}`, ""},
		{"bdev_lvol_resize", `{"name":"lvsR/esA","size_in_mib":4}`, "", "", ""},
		{"bdev_lvol_start_shallow_copy", `{"src_lvol_name":"lvsR/snapA","dst_bdev_name":"M0p0"}`, RuleCopyOntoUsed, "", "lvstore lvsA"},
		{"bdev_lvol_start_shallow_copy", `{"src_lvol_name":"lvsR/snapA","dst_bdev_name":"M0p1"}`, "", "", ""},
		{"bdev_lvol_rename", `{"old_name":"lvsR/snapA","new_name":"x"}`, RuleRenameReadOnly, "", ""},
		{"bdev_lvol_rename", `{"old_name":"lvsR/esA","new_name":"` + strings.Repeat("e", 64) + `"}`, RuleNameTooLong, "", ""},
		{"bdev_lvol_rename", `{"old_name":"lvsR/esA","new_name":""}`, "", `{"old_name":"` + uuidEsA + `","new_name":""}`, ""},
		// Params SPDK would read differently.
		{"bdev_lvol_delete", `{"name":"lvsR/esA","name":"lvsR/snapA"}`, RuleInvalidParams, "", ""},
		{"bdev_lvol_delete", `{"name":"lvsR/snapA\u0000x"}`, RuleInvalidParams, "", ""},
		{"bdev_lvol_delete", `["lvsR/snapA"]`, RuleInvalidParams, "", ""},
		{"bdev_lvol_delete", `{"name":"lvsR/\u0065sA"}`, "", `{"name":"` + uuidEsA + `"}`, ""},
	} {
		t.Run(tt.method+" "+tt.params, func(t *testing.T) {
			d := Decide(tt.method, json.RawMessage(tt.params), Env{State: s})
			if got := d.Rule; got != tt.rule || d.Allowed != (tt.rule == "") {
				t.Fatalf("rule %q allowed %v, want %q (%s)", got, d.Allowed, tt.rule, d.Reason)
			}
			if tt.forward != "" && string(d.Forward) != tt.forward {
				t.Errorf("forwards %s, want %s", d.Forward, tt.forward)
			}
			if tt.dependent != "" && !containsString(d.Dependents, tt.dependent) {
				t.Errorf("dependents %v lack %s", d.Dependents, tt.dependent)
			}
		})
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestUncertainObjectsAreRefused(t *testing.T) {
	s := stackState(t)
	env := Env{State: s, Uncertain: func(o Obj) bool { return o == lvolObj(uuidEsA) }}
	if d := Decide("bdev_lvol_delete", json.RawMessage(`{"name":"lvsR/esA"}`), env); d.Rule != RuleUncertain {
		t.Fatalf("delete of an uncertain lvol: %+v", d)
	}
	if d := Decide("bdev_lvol_delete", json.RawMessage(`{"name":"lvsR/cloneA"}`), env); !d.Allowed {
		t.Fatalf("delete of another lvol: %+v", d)
	}
}

func TestRenameOfALvolSetReadOnlyIsRefused(t *testing.T) {
	s := stackState(t)
	env := Env{State: s, ReadOnly: func(u string) bool { return u == uuidEsA }}
	if d := Decide("bdev_lvol_rename", json.RawMessage(`{"old_name":"lvsR/esA","new_name":"x"}`), env); d.Rule != RuleRenameReadOnly {
		t.Fatalf("got %+v", d)
	}
}

// Every method a real spdk_tgt v26.05 offers has a class.
func TestEveryRecordedMethodIsClassified(t *testing.T) {
	raw, err := os.ReadFile("testdata/rpc_get_methods.json")
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	if err := json.Unmarshal(raw, &methods); err != nil {
		t.Fatal(err)
	}
	if len(methods) != 226 {
		t.Fatalf("recorded list has %d methods, want 226", len(methods))
	}
	for _, m := range methods {
		e, ok := Lookup(m)
		if !ok {
			t.Errorf("%s is not in the table", m)
			continue
		}
		if e.Class == Graph && e.check == nil {
			t.Errorf("%s is a graph method without a check", m)
		}
	}
	if _, ok := Lookup("bdev_frobnicate_everything"); ok {
		t.Error("an unknown method is in the table")
	}
}

// Sizes are read as SPDK reads numbers: a shrink written 4e0 or 4.00 is
// still a shrink.
func TestShrinkWrittenOddly(t *testing.T) {
	s := stackState(t)
	for _, size := range []string{"4", "4e0", "4.00", "0.4e1", "40e-1"} {
		d := Decide("bdev_lvol_resize", json.RawMessage(`{"name":"lvsA/v1","size_in_mib":`+size+`}`), Env{State: s})
		if d.Rule != RuleShrink {
			t.Errorf("size %s: %+v, want %s", size, d, RuleShrink)
		}
	}
	for _, size := range []string{"-4", "4.5", "1e400"} {
		d := Decide("bdev_lvol_resize", json.RawMessage(`{"name":"lvsA/v1","size_in_mib":`+size+`}`), Env{State: s})
		if d.Rule != RuleInvalidParams {
			t.Errorf("size %s: %+v, want %s", size, d, RuleInvalidParams)
		}
	}
}

func FuzzSPDKUint(f *testing.F) {
	for _, s := range []string{"0", "12", "1e2", "100.0", "-0", "1.5", "18446744073709551615", "18446744073709551616", "1E+3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := spdkUint(json.RawMessage(s))
		if err != nil {
			return
		}
		var n json.Number
		if json.Unmarshal([]byte(s), &n) != nil {
			t.Fatalf("%q read as %d but is not a JSON number", s, v)
		}
		if f, err := n.Float64(); err == nil && f < 1e15 && uint64(f) != v {
			t.Fatalf("%q read as %d, but is %v", s, v, f)
		}
	})
}

func TestSplitCreateByAliasIsRefused(t *testing.T) {
	s := stackState(t)
	if d := Decide("bdev_split_create", json.RawMessage(`{"base_bdev":"`+uuidM0+`","split_count":2}`), Env{State: s}); d.Rule != RuleSharpEdge {
		t.Errorf("split of M0 by its UUID alias: %+v", d)
	}
	if d := Decide("bdev_split_create", json.RawMessage(`{"base_bdev":"M0p1","split_count":2}`), Env{State: s}); !d.Allowed {
		t.Errorf("split of M0p1 by its name: %+v", d)
	}
}

func TestNumbersSPDKWouldSpinOnAreRefused(t *testing.T) {
	for raw, bad := range map[string]bool{
		`{"num_blocks":0e7777777777777777,"name":"z"}`: true,
		`{"timeout":1E+1001}`:                          true,
		`{"a":[{"b":0.0e-99999}]}`:                     true,
		`{"size_in_mib":4e2,"name":"lvs/a1e9"}`:        false,
		`{"name":"0e99999999"}`:                        false,
	} {
		if err := CheckNumbers(json.RawMessage(raw)); (err != nil) != bad {
			t.Errorf("CheckNumbers(%s) = %v, want refused %v", raw, err, bad)
		}
	}
}

func TestLvstoreOnAReadOnlyLvolIsRefused(t *testing.T) {
	s := stackState(t)
	if d := Decide("bdev_lvol_create_lvstore", json.RawMessage(`{"bdev_name":"lvsR/snapA","lvs_name":"x"}`), Env{State: s}); d.Rule != RuleSharpEdge {
		t.Errorf("lvstore on a snapshot: %+v", d)
	}
	env := Env{State: s, ReadOnly: func(u string) bool { return u == uuidEsA }}
	if d := Decide("bdev_lvol_create_lvstore", json.RawMessage(`{"bdev_name":"lvsR/esA","lvs_name":"x"}`), env); d.Rule != RuleSharpEdge {
		t.Errorf("lvstore on an lvol set read-only: %+v", d)
	}
	d := Decide("bdev_lvol_create_lvstore", json.RawMessage(`{"bdev_name":"lvsR/cloneA","lvs_name":"x"}`), Env{State: s})
	if !d.Allowed || len(d.HeldOnEIO) != 1 {
		t.Errorf("lvstore on a writable lvol: %+v", d)
	}
}

// An lvol bdev the lvol listing lacks is still judged as an lvol: its
// lvstore is untrustworthy, and nothing in it is removed.
func TestLvolBdevMissingFromTheLvolListing(t *testing.T) {
	r := stackRead(t)
	var all, lvols []map[string]any
	if err := json.Unmarshal(r.Lvols, &all); err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		if l["uuid"] != uuidEsA {
			lvols = append(lvols, l)
		}
	}
	r.Lvols, _ = json.Marshal(lvols)
	s, err := NewState(r)
	if err != nil {
		t.Fatal(err)
	}
	if d := Decide("bdev_lvol_delete", json.RawMessage(`{"name":"lvsR/esA"}`), Env{State: s}); d.Rule != RuleAnomaly {
		t.Fatalf("delete of an lvol get_lvols does not list: %+v", d)
	}
	if d := Decide("bdev_lvol_delete", json.RawMessage(`{"name":"lvsP/esB"}`), Env{State: s}); !d.Allowed {
		t.Fatalf("delete in another lvstore: %+v", d)
	}
}

func TestCloneInAnLvstoreOutOfMetadataIsRefused(t *testing.T) {
	s := stackState(t)
	lvsR := "25f663b8-7f83-4ba1-8ef7-cc204e38c69c"
	env := Env{State: s, MetadataFull: func(u string) bool { return u == lvsR }}
	if d := Decide("bdev_lvol_clone", json.RawMessage(`{"snapshot_name":"lvsR/snapA","clone_name":"c9"}`), env); d.Rule != RuleSharpEdge {
		t.Errorf("clone in a full lvstore: %+v", d)
	}
	d := Decide("bdev_lvol_create", json.RawMessage(`{"lvs_name":"lvsR","lvol_name":"x","size_in_mib":1}`), env)
	if !d.Allowed || d.Lvstore != lvsR {
		t.Errorf("create in lvsR: %+v, want allowed in %s", d, lvsR)
	}
	if d := Decide("bdev_lvol_delete", json.RawMessage(`{"name":"lvsR/cloneA"}`), env); d.Lvstore != lvsR {
		t.Errorf("delete in lvsR names lvstore %q", d.Lvstore)
	}
}

// The recorded repro: a 16 MiB malloc, 1 MiB clusters, the default ratio,
// one thin lvol and its snapshot: the 14th clone crashes spdk_tgt. Each
// clone the store's pages still hold is allowed, the one too many refused.
func TestClonesUpToTheMetadataPages(t *testing.T) {
	lvols := []map[string]any{}
	add := func(name string, snap bool) {
		lvols = append(lvols, map[string]any{"uuid": fmt.Sprintf("00000000-0000-0000-0000-%012d", len(lvols)), "name": name,
			"is_snapshot": snap, "lvs": map[string]string{"name": "l", "uuid": "11111111-1111-1111-1111-111111111111"}})
	}
	add("v", false)
	add("s", true)
	bdevs := func() json.RawMessage {
		out := []map[string]any{{"name": "M", "block_size": 512, "num_blocks": 32768, "uuid": "22222222-2222-2222-2222-222222222222", "claimed": true}}
		for _, l := range lvols {
			out = append(out, map[string]any{"name": l["uuid"], "aliases": []string{"l/" + l["name"].(string)}, "block_size": 512, "num_blocks": 2048,
				"driver_specific": map[string]any{"lvol": map[string]any{"lvol_store_uuid": "11111111-1111-1111-1111-111111111111", "snapshot": l["is_snapshot"]}}})
		}
		b, _ := json.Marshal(out)
		return b
	}
	stores := json.RawMessage(`[{"uuid":"11111111-1111-1111-1111-111111111111","name":"l","base_bdev":"M","cluster_size":1048576}]`)
	for i := 1; i <= 14; i++ {
		lraw, _ := json.Marshal(lvols)
		s, err := NewState(Read{Bdevs: bdevs(), Lvstores: stores, Lvols: lraw})
		if err != nil {
			t.Fatal(err)
		}
		d := Decide("bdev_lvol_clone", json.RawMessage(`{"snapshot_name":"l/s","clone_name":"c"}`), Env{State: s})
		if want := i < 14; d.Allowed != want {
			t.Fatalf("clone %d: %+v, want allowed %v", i, d, want)
		}
		add(fmt.Sprintf("c%d", i), false)
	}
}

func TestSetParentAcrossLvstoresIsRefused(t *testing.T) {
	s := stackState(t)
	if d := Decide("bdev_lvol_set_parent", json.RawMessage(`{"lvol_name":"lvsP/esB","parent_name":"lvsR/snapA"}`), Env{State: s}); d.Rule != RuleSharpEdge {
		t.Errorf("set_parent onto another lvstore's snapshot: %+v", d)
	}
	if d := Decide("bdev_split_create", json.RawMessage(`{"base_bdev":"M0p1","split_count":1,"split_size_mb":64}`), Env{State: s}); !d.Allowed || len(d.HeldOnEmpty) != 1 {
		t.Errorf("split create: %+v, want allowed with its base held on an empty answer", d)
	}
}
