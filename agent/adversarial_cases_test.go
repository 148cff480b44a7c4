package agent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The adversarial cases of issue 10, one table. Each builds its layout
// straight on SPDK, makes one call through the agent and is judged on
// what the guard did (want) and, above all, on SPDK's truth afterwards.
// Layouts and the behaviour of a real spdk_tgt v26.05 are those of
// shared/spdk-sharp-edges.md.

// advCase is one case of the table.
type advCase struct {
	name  string
	class advClass
	want  advWant
	code  int // SPDK's error code, for mustAllowErr
	// realOnly, when set, says why the case runs on a real target only.
	realOnly string
	layout   func(l *lay)
	// direct changes SPDK after the agent has seen the layout, the way a
	// direct caller would (renames and set_parent_bdev are not announced).
	direct func(l *lay)
	attack func(l *lay) (method, params string)
	// mine are the aliases (or bdev names) of the call's own volume: what a
	// successful call may change or remove.
	mine    []string
	lvsGone []string          // lvstores a successful call may remove
	renames map[string]string // lvstore renames a successful call makes
	// await, when set, waits for what a successful call started (a shallow
	// copy) before the truth is read.
	await func(l *lay, res json.RawMessage)
	check func(t testing.TB, before, after advTruth)
}

// attack builds an attack of fixed params.
func attack(method string, kv ...any) func(*lay) (string, string) {
	return func(*lay) (string, string) { return method, jobj(kv...) }
}

// attackRaw builds an attack of params written out by hand (duplicate keys,
// escapes, arrays).
func attackRaw(method, params string) func(*lay) (string, string) {
	return func(*lay) (string, string) { return method, params }
}

// attackByUUID is an attack naming the object by its UUID, transformed.
func attackByUUID(method, key, alias string, f func(string) string, kv ...any) func(*lay) (string, string) {
	return func(l *lay) (string, string) {
		return method, jobj(append([]any{key, f(l.uuid(alias))}, kv...)...)
	}
}

func asIs(s string) string { return s }

var inCapitals = strings.ToUpper

// attackLvsUUID names an lvstore by its UUID, transformed.
func attackLvsUUID(method, key, lvs string, f func(string) string, kv ...any) func(*lay) (string, string) {
	return func(l *lay) (string, string) {
		return method, jobj(append([]any{key, f(l.lvsUUID(lvs))}, kv...)...)
	}
}

// Layouts. Every lvstore has 1 MiB clusters; lvols are 4 MiB unless said.

// store makes malloc bdev m and lvstore lvs on it.
func (l *lay) store(m, lvs string, sizeMiB int) {
	l.t.Helper()
	l.malloc(m, sizeMiB)
	l.lvs(m, lvs)
}

// layOneClone: lvs0 on m0 holds a backing image lvs0/img (a snapshot) whose
// only clone is another volume's lvs0/vol1, and a writable leaf
// lvs0/other. Deleting img would merge it into vol1.
func layOneClone(l *lay) {
	l.store("m0", "lvs0", 64)
	l.lvol("lvs0", "gold", 4)
	l.snap("lvs0/gold", "img")
	l.del("lvs0/gold")
	l.clone("lvs0/img", "vol1")
	l.lvol("lvs0", "other", 4)
}

// layOneCloneAndEmpty is layOneClone and an empty lvstore lvs1 on m1.
func layOneCloneAndEmpty(l *lay) {
	layOneClone(l)
	l.store("m1", "lvs1", 32)
}

// directRenamedStore renames lvs0 to lvsD straight on SPDK.
func directRenamedStore(l *lay) {
	l.call("bdev_lvol_rename_lvstore", jobj("old_name", "lvs0", "new_name", "lvsD"))
}

// layShared: lvs0 holds v and c, both clones of the snapshot s1 (c is another
// volume), and w with its own snapshot t1; m1 is a free 8 MiB malloc.
func layShared(l *lay) {
	l.store("m0", "lvs0", 64)
	l.lvol("lvs0", "v", 4)
	l.snap("lvs0/v", "s1")
	l.clone("lvs0/s1", "c")
	l.lvol("lvs0", "w", 4)
	l.snap("lvs0/w", "t1")
	l.malloc("img", 4)
}

// layDeepShared: s0 <- s1 <- {v, c}, c another volume.
func layDeepShared(l *lay) {
	l.store("m0", "lvs0", 64)
	l.thick("lvs0", "v", 4)
	l.snap("lvs0/v", "s0")
	l.snap("lvs0/v", "s1")
	l.clone("lvs0/s1", "c")
}

// layTwoSnaps: s1 <- s3 <- v, for a set_parent cycle.
func layTwoSnaps(l *lay) {
	l.store("m0", "lvs0", 64)
	l.lvol("lvs0", "v", 4)
	l.snap("lvs0/v", "s1")
	l.snap("lvs0/v", "s3")
}

// layNested: lvs0 on m0 holds a thick lvs0/base with the lvstore inner on
// it, and a leaf lvs0/x; inner holds a, its snapshot as and a second
// clone ac of as.
func layNested(l *lay) {
	l.store("m0", "lvs0", 64)
	l.thick("lvs0", "base", 16)
	l.lvs("lvs0/base", "inner")
	l.lvol("inner", "a", 4)
	l.snap("inner/a", "as")
	l.clone("inner/as", "ac")
	l.lvol("lvs0", "x", 4)
}

// layNestedOnly: lvs0 holds nothing but the base of inner, which holds a.
func layNestedOnly(l *lay) {
	l.store("m0", "lvs0", 64)
	l.thick("lvs0", "base", 16)
	l.lvs("lvs0/base", "inner")
	l.lvol("inner", "a", 4)
}

// layNestedEmpty: inner on lvs0/base holds nothing.
func layNestedEmpty(l *lay) {
	l.store("m0", "lvs0", 64)
	l.thick("lvs0", "base", 16)
	l.lvs("lvs0/base", "inner")
	l.lvol("lvs0", "x", 4)
}

// layDeep: layNested, and the lvstore core on inner/base2 holding d: three
// lvstores stacked on m0.
func layDeep(l *lay) {
	layNested(l)
	l.thick("inner", "base2", 8)
	l.lvs("inner/base2", "core")
	l.lvol("core", "d", 2)
}

// layEsnapMalloc: lvs0 holds e1, an esnap clone of the malloc image img, and
// a leaf lvs0/other.
func layEsnapMalloc(l *lay) {
	l.store("m0", "lvs0", 64)
	l.malloc("img", 4)
	l.esnap("img", "lvs0", "e1")
	l.lvol("lvs0", "other", 4)
}

// layEsnapLvol: lvs0/e1 is an esnap clone of lvs1/src (thick, 4 clusters).
func layEsnapLvol(l *lay) {
	l.store("m0", "lvs0", 64)
	l.store("m1", "lvs1", 32)
	l.thick("lvs1", "src", 4)
	l.esnap("lvs1/src", "lvs0", "e1")
	l.lvol("lvs0", "other", 4)
}

// layWithLeaf adds lvstore lvs0 on m0 with the leaf lvs0/other to a layout.
func layWithLeaf(f func(*lay)) func(*lay) {
	return func(l *lay) {
		f(l)
		l.store("m0", "lvs0", 32)
		l.lvol("lvs0", "other", 4)
	}
}

// layOnSplit: m1 split in two, the lvstore onsplit on m1p0 holding a.
func layOnSplit(l *lay) {
	l.malloc("m1", 32)
	l.call("bdev_split_create", jobj("base_bdev", "m1", "split_count", 2))
	l.lvs("m1p0", "onsplit")
	l.lvol("onsplit", "a", 4)
}

// layOnPassthru: the lvstore onpt on the passthru pt on m2, holding a.
func layOnPassthru(l *lay) {
	l.malloc("m2", 32)
	l.call("bdev_passthru_create", jobj("base_bdev_name", "m2", "name", "pt"))
	l.lvs("pt", "onpt")
	l.lvol("onpt", "a", 4)
}

// layOnRaid: the lvstore onraid on the raid r0 of level over m3 and m4,
// holding a.
func layOnRaid(level string) func(*lay) {
	return func(l *lay) {
		l.malloc("m3", 16)
		l.malloc("m4", 16)
		p := jobj("name", "r0", "raid_level", level, "strip_size_kb", 64, "base_bdevs", json.RawMessage(`["m3","m4"]`))
		if level == "raid1" {
			p = jobj("name", "r0", "raid_level", level, "base_bdevs", json.RawMessage(`["m3","m4"]`))
		}
		l.call("bdev_raid_create", p)
		l.lvs("r0", "onraid")
		l.lvol("onraid", "a", 4)
	}
}

// layRaidOfLvols: a raid0 of two lvols of lvs0, with the lvstore onraid on it.
func layRaidOfLvols(l *lay) {
	l.store("m0", "lvs0", 64)
	l.thick("lvs0", "r1", 8)
	l.thick("lvs0", "r2", 8)
	l.call("bdev_raid_create", jobj("name", "r0", "raid_level", "raid0", "strip_size_kb", 64, "base_bdevs", json.RawMessage(`["lvs0/r1","lvs0/r2"]`)))
	l.lvs("r0", "onraid")
	l.lvol("onraid", "a", 4)
}

// laySplitOfLvol: lvs0/base split in two, the lvstore onsplit on part 0.
func laySplitOfLvol(l *lay) {
	l.store("m0", "lvs0", 64)
	l.thick("lvs0", "base", 16)
	// By its UUID: bdev_split_create of an lvol by its alias kills
	// spdk_tgt (a case below).
	baseUUID := l.uuid("lvs0/base")
	l.call("bdev_split_create", jobj("base_bdev", baseUUID, "split_count", 2))
	l.lvs(baseUUID+"p0", "onsplit")
	l.lvol("onsplit", "a", 2)
}

// layDegradedBeside: lvs1 on an aio file holds e, an esnap clone of an aio
// image; after SPDK's restart only lvs1's file is back, so e is degraded.
// lvs0 on m0 holds the leaf lvs0/other.
func layDegradedBeside(l *lay) {
	f := l.aio("a1", 32)
	l.lvs("a1", "lvs1")
	l.aio("imgaio", 4)
	l.esnap("imgaio", "lvs1", "e")
	l.n.restartSPDK(l.t)
	l.waitSPDK()
	l.call("bdev_aio_create", jobj("name", "a1", "filename", f, "block_size", 512))
	l.call("bdev_wait_for_examine", "")
	l.store("m0", "lvs0", 32)
	l.lvol("lvs0", "other", 4)
}

// waitSPDK waits (at most 10 s) until SPDK answers again after a restart.
func (l *lay) waitSPDK() {
	l.t.Helper()
	deadline := time.Now().Add(advSetupTimeout)
	for {
		if _, err := l.try("spdk_get_version", ""); err == nil {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatal("SPDK did not come back after its restart")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitShallowCopy waits (at most 3 s) for the shallow copy a call started.
func awaitShallowCopy(l *lay, res json.RawMessage) {
	var op struct {
		OperationID uint32 `json:"operation_id"`
	}
	if json.Unmarshal(res, &op) != nil {
		return
	}
	deadline := time.Now().Add(advAttackTimeout)
	for time.Now().Before(deadline) {
		r, err := l.try("bdev_lvol_check_shallow_copy", jobj("operation_id", op.OperationID))
		if err != nil || !strings.Contains(string(r), `"in progress"`) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// aliasBecomes checks that the lvol known before as from is now called to.
func aliasBecomes(from, to string) func(testing.TB, advTruth, advTruth) {
	return func(t testing.TB, before, after advTruth) {
		t.Helper()
		id, ok := before.byAlias(from)
		if !ok {
			t.Fatalf("no lvol %s before the call", from)
		}
		if got := after.lvols[id]; got.Alias != to || got.BdevAlias != to {
			t.Errorf("%s after the rename: lvol alias %q, bdev alias %q; want %q", from, got.Alias, got.BdevAlias, to)
		}
	}
}

// lvolGone checks that the lvol is no longer listed.
func lvolGone(alias string) func(testing.TB, advTruth, advTruth) {
	return func(t testing.TB, before, after advTruth) {
		t.Helper()
		if id, ok := before.byAlias(alias); !ok {
			t.Fatalf("no lvol %s before the call", alias)
		} else if _, still := after.lvols[id]; still {
			t.Errorf("%s is still listed after its delete succeeded", alias)
		}
	}
}

// lvolAdded checks that an lvol with this alias exists after the call.
func lvolAdded(alias string) func(testing.TB, advTruth, advTruth) {
	return func(t testing.TB, _, after advTruth) {
		t.Helper()
		if _, ok := after.byAlias(alias); !ok {
			t.Errorf("%s does not exist after the call succeeded", alias)
		}
	}
}

var (
	long64    = strings.Repeat("n", 64)
	long100   = strings.Repeat("n", 100)
	acute64   = strings.Repeat("é", 32) // 64 bytes: a cut at 63 splits a character
	exactly63 = strings.Repeat("k", 63)
)

func advCases() []advCase {
	return []advCase{
		// --- Resolution: SPDK finds what the guard's lookup does not. ---
		{name: "delete single-clone image by UUID in capitals", class: classResolution, want: mustRefuse,
			layout: layOneClone, attack: attackByUUID("bdev_lvol_delete", "name", "lvs0/img", inCapitals)},
		{name: "delete single-clone image by UUID", class: classResolution, want: mustRefuse,
			layout: layOneClone, attack: attackByUUID("bdev_lvol_delete", "name", "lvs0/img", asIs)},
		{name: "delete single-clone image by alias", class: classResolution, want: mustRefuse,
			layout: layOneClone, attack: attack("bdev_lvol_delete", "name", "lvs0/img")},
		{name: "delete image by old alias after a failed rename", class: classResolution, want: mustRefuse,
			layout: layOneClone, direct: directFailedRename, attack: attack("bdev_lvol_delete", "name", "lvs0/img")},
		{name: "delete image by moved alias after a failed rename", class: classResolution, want: mustRefuse,
			layout: layOneClone, direct: directFailedRename, attack: attack("bdev_lvol_delete", "name", "lvs0/imgX")},
		{name: "delete image by alias after a direct lvstore rename", class: classResolution, want: mustRefuse,
			layout: layOneClone, direct: directRenamedStore, attack: attack("bdev_lvol_delete", "name", "lvsD/img")},
		{name: "delete_lvstore holding lvols by UUID in capitals", class: classResolution, want: mustRefuse,
			layout: layOneClone, attack: attackLvsUUID("bdev_lvol_delete_lvstore", "uuid", "lvs0", inCapitals)},
		{name: "delete_lvstore holding lvols by its new name after a direct rename", class: classResolution, want: mustRefuse,
			layout: layOneClone, direct: directRenamedStore, attack: attack("bdev_lvol_delete_lvstore", "lvs_name", "lvsD")},
		{name: "delete_lvstore naming an empty store by uuid and a full one by name", class: classResolution, want: mustFail,
			layout: layOneCloneAndEmpty, attack: func(l *lay) (string, string) {
				return "bdev_lvol_delete_lvstore", jobj("uuid", l.lvsUUID("lvs1"), "lvs_name", "lvs0")
			}},
		{name: "delete image by alias with an embedded NUL", class: classResolution, want: mustFail,
			layout: layOneClone, attack: attackRaw("bdev_lvol_delete", `{"name":"lvs0/img\u0000x"}`)},
		{name: "delete image by UUID with an embedded NUL", class: classResolution, want: mustFail,
			layout: layOneClone, attack: func(l *lay) (string, string) {
				return "bdev_lvol_delete", `{"name":"` + l.uuid("lvs0/img") + `\u0000"}`
			}},
		{name: "delete_lvstore by name with an embedded NUL", class: classResolution, want: mustFail,
			layout: layOneClone, attack: attackRaw("bdev_lvol_delete_lvstore", `{"lvs_name":"lvs0\u0000junk"}`)},
		{name: "delete with duplicate keys, leaf first", class: classResolution, want: mustFail,
			layout: layOneClone, attack: attackRaw("bdev_lvol_delete", `{"name":"lvs0/other","name":"lvs0/img"}`)},
		{name: "delete with duplicate keys, image first", class: classResolution, want: mustFail,
			layout: layOneClone, attack: attackRaw("bdev_lvol_delete", `{"name":"lvs0/img","name":"lvs0/other"}`)},
		{name: "delete with the key in capitals", class: classResolution, want: mustFail,
			layout: layOneClone, attack: attackRaw("bdev_lvol_delete", `{"NAME":"lvs0/img"}`)},
		{name: "delete with a leaf and the image under a key in other case", class: classResolution, want: mustFail,
			layout: layOneClone, attack: attackRaw("bdev_lvol_delete", `{"name":"lvs0/other","Name":"lvs0/img"}`)},
		{name: "delete with params as an array", class: classResolution, want: mustFail,
			layout: layOneClone, attack: attackRaw("bdev_lvol_delete", `["lvs0/img"]`)},
		{name: "delete_lvstore with params as an array", class: classResolution, want: mustFail,
			layout: layOneClone, attack: attackRaw("bdev_lvol_delete_lvstore", `["lvs0"]`)},
		{name: "delete esnap parent lvol by UUID in capitals", class: classResolution, want: mustRefuse,
			layout: layEsnapLvol, attack: attackByUUID("bdev_lvol_delete", "name", "lvs1/src", inCapitals)},
		{name: "malloc_delete of esnap parent by UUID in capitals", class: classResolution, want: mustFail,
			layout: layEsnapMalloc, attack: attackByUUID("bdev_malloc_delete", "name", "img", inCapitals)},
		{name: "rename snapshot by UUID in capitals", class: classResolution, want: mustFail,
			layout: layOneClone, attack: attackByUUID("bdev_lvol_rename", "old_name", "lvs0/img", inCapitals, "new_name", "imgX")},

		// --- The bdev stack beneath lvstores. ---
		{name: "malloc_delete of an lvstore base", class: classStack, want: mustRefuse,
			layout: layOneClone, attack: attack("bdev_malloc_delete", "name", "m0")},
		{name: "malloc_delete of an lvstore base by UUID", class: classStack, want: mustRefuse,
			layout: layOneClone, attack: attackByUUID("bdev_malloc_delete", "name", "m0", asIs)},
		{name: "malloc_delete of an lvstore base by UUID in capitals", class: classStack, want: mustFail,
			layout: layOneClone, attack: attackByUUID("bdev_malloc_delete", "name", "m0", inCapitals)},
		{name: "aio_delete of an lvstore base", class: classStack, want: mustRefuse,
			layout: func(l *lay) { l.aio("a0", 32); l.lvs("a0", "lvs0"); l.lvol("lvs0", "v", 4) },
			attack: attack("bdev_aio_delete", "name", "a0")},
		{name: "aio_delete of an lvstore base by UUID", class: classStack, want: mustRefuse,
			layout: func(l *lay) { l.aio("a0", 32); l.lvs("a0", "lvs0"); l.lvol("lvs0", "v", 4) },
			attack: attackByUUID("bdev_aio_delete", "name", "a0", asIs)},
		{name: "delete of the lvol a nested lvstore sits on", class: classStack, want: mustRefuse,
			layout: layNested, attack: attack("bdev_lvol_delete", "name", "lvs0/base")},
		{name: "delete of the nested base by UUID", class: classStack, want: mustRefuse,
			layout: layNested, attack: attackByUUID("bdev_lvol_delete", "name", "lvs0/base", asIs)},
		{name: "delete of the nested base by UUID in capitals", class: classStack, want: mustRefuse,
			layout: layNested, attack: attackByUUID("bdev_lvol_delete", "name", "lvs0/base", inCapitals)},
		{name: "delete_lvstore holding only a nested base", class: classStack, want: mustRefuse,
			layout: layNestedOnly, attack: attack("bdev_lvol_delete_lvstore", "lvs_name", "lvs0")},
		{name: "malloc_delete beneath three stacked lvstores", class: classStack, want: mustRefuse,
			layout: layDeep, attack: attack("bdev_malloc_delete", "name", "m0")},
		{name: "delete of the middle base of three stacked lvstores", class: classStack, want: mustRefuse,
			layout: layDeep, attack: attack("bdev_lvol_delete", "name", "inner/base2")},
		{name: "delete_lvstore of the middle of three stacked lvstores", class: classStack, want: mustRefuse,
			layout: layDeep, attack: attack("bdev_lvol_delete_lvstore", "lvs_name", "inner")},
		{name: "split_delete beneath an lvstore", class: classStack, want: mustRefuse,
			layout: layOnSplit, attack: attack("bdev_split_delete", "base_bdev", "m1")},
		{name: "malloc_delete beneath a split with an lvstore", class: classStack, want: mustRefuse,
			layout: layOnSplit, attack: attack("bdev_malloc_delete", "name", "m1")},
		{name: "passthru_delete beneath an lvstore", class: classStack, want: mustRefuse,
			layout: layOnPassthru, attack: attack("bdev_passthru_delete", "name", "pt")},
		{name: "passthru_delete beneath an lvstore by UUID", class: classStack, want: mustRefuse,
			layout: layOnPassthru, attack: attackByUUID("bdev_passthru_delete", "name", "pt", asIs)},
		{name: "malloc_delete beneath a passthru with an lvstore", class: classStack, want: mustRefuse,
			layout: layOnPassthru, attack: attack("bdev_malloc_delete", "name", "m2")},
		{name: "raid_delete of a raid0 beneath an lvstore", class: classStack, want: mustRefuse,
			layout: layOnRaid("raid0"), attack: attack("bdev_raid_delete", "name", "r0")},
		{name: "raid_delete of a raid0 by UUID", class: classStack, want: mustRefuse,
			layout: layOnRaid("raid0"), attack: attackByUUID("bdev_raid_delete", "name", "r0", asIs)},
		{name: "raid_remove_base_bdev of a raid0 member", class: classStack, want: mustRefuse,
			layout: layOnRaid("raid0"), attack: attack("bdev_raid_remove_base_bdev", "name", "m3")},
		{name: "malloc_delete of a raid0 member", class: classStack, want: mustRefuse,
			layout: layOnRaid("raid0"), attack: attack("bdev_malloc_delete", "name", "m4")},
		{name: "raid_remove_base_bdev of a concat member", class: classStack, want: mustRefuse,
			layout: layOnRaid("concat"), attack: attack("bdev_raid_remove_base_bdev", "name", "m4")},
		{name: "raid_delete of a raid1 beneath an lvstore", class: classStack, want: mustRefuse,
			layout: layOnRaid("raid1"), attack: attack("bdev_raid_delete", "name", "r0")},
		{name: "delete of an lvol that is a raid member beneath an lvstore", class: classStack, want: mustRefuse,
			layout: layRaidOfLvols, attack: attack("bdev_lvol_delete", "name", "lvs0/r1")},
		{name: "delete of an lvol split beneath an lvstore", class: classStack, want: mustRefuse,
			layout: laySplitOfLvol, attack: attack("bdev_lvol_delete", "name", "lvs0/base")},

		// --- Chain rewrites. ---
		{name: "set_parent of a snapshot with another volume's clone", class: classChain, want: mustRefuse,
			layout: layShared, attack: attack("bdev_lvol_set_parent", "lvol_name", "lvs0/s1", "parent_name", "lvs0/t1")},
		{name: "set_parent_bdev of a snapshot with another volume's clone", class: classChain, want: mustRefuse,
			layout: layShared, attack: attack("bdev_lvol_set_parent_bdev", "lvol_name", "lvs0/s1", "parent_name", "img")},
		{name: "set_parent making a cycle (spins SPDK)", class: classChain, want: mustRefuse,
			layout: layTwoSnaps, attack: attack("bdev_lvol_set_parent", "lvol_name", "lvs0/s1", "parent_name", "lvs0/s3")},
		{name: "set_parent making a cycle, by UUIDs in capitals", class: classChain, want: mustFail,
			layout: layTwoSnaps, attack: func(l *lay) (string, string) {
				return "bdev_lvol_set_parent", jobj("lvol_name", inCapitals(l.uuid("lvs0/s1")), "parent_name", inCapitals(l.uuid("lvs0/s3")))
			}},
		{name: "set_parent_bdev making a two-lvstore esnap cycle (crashes SPDK)", class: classChain, want: mustRefuse,
			layout: func(l *lay) {
				l.store("m0", "lvs0", 32)
				l.store("m1", "lvs1", 32)
				l.lvol("lvs0", "a", 4)
				l.lvol("lvs1", "b", 4)
				l.setParentBdev("lvs0/a", "lvs1/b")
			},
			attack: attack("bdev_lvol_set_parent_bdev", "lvol_name", "lvs1/b", "parent_name", "lvs0/a")},
		{name: "set_parent_bdev making an esnap cycle in one lvstore", class: classChain, want: mustRefuse,
			layout: func(l *lay) {
				l.store("m0", "lvs0", 32)
				l.lvol("lvs0", "a", 4)
				l.lvol("lvs0", "b", 4)
				l.setParentBdev("lvs0/a", "lvs0/b")
			},
			attack: attack("bdev_lvol_set_parent_bdev", "lvol_name", "lvs0/b", "parent_name", "lvs0/a")},
		{name: "set_parent_bdev of an lvol onto itself", class: classChain, want: mustFail,
			layout: func(l *lay) { l.store("m0", "lvs0", 32); l.lvol("lvs0", "a", 4) },
			attack: attack("bdev_lvol_set_parent_bdev", "lvol_name", "lvs0/a", "parent_name", "lvs0/a")},
		{name: "set_parent_bdev of a snapshot onto its own clone", class: classChain, want: mustRefuse,
			layout: func(l *lay) { l.store("m0", "lvs0", 32); l.lvol("lvs0", "v", 4); l.snap("lvs0/v", "s") },
			attack: attack("bdev_lvol_set_parent_bdev", "lvol_name", "lvs0/s", "parent_name", "lvs0/v")},
		{name: "decouple_parent of a snapshot others read from", class: classChain, want: mustRefuse,
			layout: layDeepShared, attack: attack("bdev_lvol_decouple_parent", "name", "lvs0/s1")},
		{name: "inflate of a snapshot others read from", class: classChain, want: mustRefuse,
			layout: layDeepShared, attack: attack("bdev_lvol_inflate", "name", "lvs0/s1")},
		{name: "resize shrink of an lvol holding a nested lvstore", class: classChain, want: mustRefuse,
			layout: layNested, attack: attack("bdev_lvol_resize", "name", "lvs0/base", "size_in_mib", 4)},
		{name: "resize shrink of an esnap parent in another lvstore", class: classChain, want: mustRefuse,
			layout: layEsnapLvol, attack: attack("bdev_lvol_resize", "name", "lvs1/src", "size_in_mib", 1)},
		{name: "resize shrink of an esnap parent by UUID in capitals", class: classChain, want: mustFail,
			layout: layEsnapLvol, attack: attackByUUID("bdev_lvol_resize", "name", "lvs1/src", inCapitals, "size_in_mib", 1)},
		{name: "resize shrink of an lvol split beneath an lvstore", class: classChain, want: mustRefuse,
			layout: laySplitOfLvol, attack: attack("bdev_lvol_resize", "name", "lvs0/base", "size_in_mib", 4)},
		{name: "shallow copy onto another lvstore's base", class: classChain, want: mustRefuse,
			layout: func(l *lay) { layOneClone(l); l.store("m1", "lvs1", 32); l.lvol("lvs1", "y", 4) },
			attack: attack("bdev_lvol_start_shallow_copy", "src_lvol_name", "lvs0/img", "dst_bdev_name", "m1"), await: awaitShallowCopy},
		{name: "shallow copy onto an esnap parent", class: classChain, want: mustRefuse,
			layout: func(l *lay) { layEsnapMalloc(l); l.lvol("lvs0", "w", 4); l.snap("lvs0/w", "ws") },
			attack: attack("bdev_lvol_start_shallow_copy", "src_lvol_name", "lvs0/ws", "dst_bdev_name", "img"), await: awaitShallowCopy},
		{name: "shallow copy onto the base of a nested lvstore", class: classChain, want: mustRefuse,
			layout: layNested, attack: attack("bdev_lvol_start_shallow_copy", "src_lvol_name", "inner/as", "dst_bdev_name", "lvs0/base"), await: awaitShallowCopy},
		{name: "clone_bdev of another lvstore's base", class: classChain, want: mustRefuse,
			layout: func(l *lay) { layOneClone(l); l.store("m1", "lvs1", 32) },
			attack: attack("bdev_lvol_clone_bdev", "bdev", "m1", "lvs_name", "lvs0", "clone_name", "bad")},
		{name: "clone_bdev of another lvstore's base by UUID", class: classChain, want: mustRefuse,
			layout: func(l *lay) { layOneClone(l); l.store("m1", "lvs1", 32) },
			attack: attackByUUID("bdev_lvol_clone_bdev", "bdev", "m1", asIs, "lvs_name", "lvs0", "clone_name", "bad")},
		{name: "clone_bdev of an lvol holding a nested lvstore", class: classChain, want: mustRefuse,
			layout: func(l *lay) { layNested(l); l.store("m1", "lvs1", 64) },
			attack: attack("bdev_lvol_clone_bdev", "bdev", "lvs0/base", "lvs_name", "lvs1", "clone_name", "bad")},
		{name: "set_parent_bdev onto another lvstore's base", class: classChain, want: mustRefuse,
			layout: func(l *lay) { l.store("m0", "lvs0", 64); l.lvol("lvs0", "x", 32); l.store("m1", "lvs1", 32) },
			attack: attack("bdev_lvol_set_parent_bdev", "lvol_name", "lvs0/x", "parent_name", "m1")},

		// --- Sharp edges of shared/spdk-sharp-edges.md. ---
		{name: "malloc_delete of an esnap parent (hangs SPDK)", class: classSharp, want: mustRefuse,
			layout: layEsnapMalloc, attack: attack("bdev_malloc_delete", "name", "img")},
		{name: "malloc_delete of an esnap parent by UUID", class: classSharp, want: mustRefuse,
			layout: layEsnapMalloc, attack: attackByUUID("bdev_malloc_delete", "name", "img", asIs)},
		{name: "aio_delete of an esnap parent", class: classSharp, want: mustRefuse,
			layout: func(l *lay) { l.store("m0", "lvs0", 32); l.aio("imgaio", 4); l.esnap("imgaio", "lvs0", "e1") },
			attack: attack("bdev_aio_delete", "name", "imgaio")},
		{name: "delete of an esnap parent lvol in another lvstore", class: classSharp, want: mustRefuse,
			layout: layEsnapLvol, attack: attack("bdev_lvol_delete", "name", "lvs1/src")},
		{name: "delete_lvstore holding an esnap parent", class: classSharp, want: mustRefuse,
			layout: layEsnapLvol, attack: attack("bdev_lvol_delete_lvstore", "lvs_name", "lvs1")},
		{name: "delete of an esnap parent made directly with set_parent_bdev in the same lvstore", class: classSharp, want: mustRefuse,
			layout: func(l *lay) { l.store("m0", "lvs0", 32); l.thick("lvs0", "src", 4); l.lvol("lvs0", "a", 4) },
			direct: func(l *lay) { l.setParentBdev("lvs0/a", "lvs0/src") },
			attack: attack("bdev_lvol_delete", "name", "lvs0/src")},
		{name: "malloc_delete of an esnap parent made directly with set_parent_bdev", class: classSharp, want: mustRefuse,
			layout: func(l *lay) { l.store("m0", "lvs0", 32); l.lvol("lvs0", "a", 4); l.malloc("img2", 4) },
			direct: func(l *lay) { l.setParentBdev("lvs0/a", "img2") },
			attack: attack("bdev_malloc_delete", "name", "img2")},
		{name: "malloc_delete beneath a passthru esnap parent", class: classSharp, want: mustRefuse,
			layout: func(l *lay) {
				l.store("m0", "lvs0", 32)
				l.malloc("img", 4)
				l.call("bdev_passthru_create", jobj("base_bdev_name", "img", "name", "ptimg"))
				l.esnap("ptimg", "lvs0", "e1")
			},
			attack: attack("bdev_malloc_delete", "name", "img")},
		{name: "split_create of an lvol by its alias (kills SPDK)", class: classSharp, want: mustRefuse,
			layout: func(l *lay) { layOneClone(l); l.thick("lvs0", "base", 8) },
			attack: attack("bdev_split_create", "base_bdev", "lvs0/base", "split_count", 2)},
		{name: "rename of an lvol to 64 bytes", class: classSharp, want: mustRefuse,
			layout: layOneClone, attack: attack("bdev_lvol_rename", "old_name", "lvs0/other", "new_name", long64)},
		{name: "rename of an lvol to 100 bytes", class: classSharp, want: mustRefuse,
			layout: layOneClone, attack: attack("bdev_lvol_rename", "old_name", "lvs0/other", "new_name", long100)},
		{name: "rename of an lvol to 32 two-byte characters", class: classSharp, want: mustRefuse,
			layout: layOneClone, attack: attack("bdev_lvol_rename", "old_name", "lvs0/other", "new_name", acute64)},
		{name: "rename_lvstore to 64 bytes", class: classSharp, want: mustRefuse,
			layout: layOneClone, attack: attack("bdev_lvol_rename_lvstore", "old_name", "lvs0", "new_name", long64)},
		{name: "rename_lvstore to 32 two-byte characters", class: classSharp, want: mustRefuse,
			layout: layOneClone, attack: attack("bdev_lvol_rename_lvstore", "old_name", "lvs0", "new_name", acute64)},
		{name: "rename of a snapshot (half done by SPDK)", class: classSharp, want: mustRefuse,
			layout: layOneClone, attack: attack("bdev_lvol_rename", "old_name", "lvs0/img", "new_name", "imgX")},
		{name: "rename of a snapshot by UUID", class: classSharp, want: mustRefuse,
			layout: layOneClone, attack: attackByUUID("bdev_lvol_rename", "old_name", "lvs0/img", asIs, "new_name", "imgX")},
		// SPDK lists read-only nowhere, so the guard cannot refuse it up
		// front; SPDK fails it half done and the agent renames it back.
		{name: "rename of an lvol set read-only", class: classSharp, want: mustFail,
			layout: func(l *lay) { layOneClone(l); l.call("bdev_lvol_set_read_only", jobj("name", "lvs0/other")) },
			attack: attack("bdev_lvol_rename", "old_name", "lvs0/other", "new_name", "otherX")},

		// --- False refusals: legitimate calls that must go through. ---
		{name: "second esnap clone of a shared image", class: classAllow, want: mustAllow,
			layout: layEsnapMalloc, attack: attack("bdev_lvol_clone_bdev", "bdev", "img", "lvs_name", "lvs0", "clone_name", "e2"), check: lvolAdded("lvs0/e2")},
		{name: "third esnap clone of a shared image", class: classAllow, want: mustAllow,
			layout: func(l *lay) { layEsnapMalloc(l); l.esnap("img", "lvs0", "e2") },
			attack: attack("bdev_lvol_clone_bdev", "bdev", "img", "lvs_name", "lvs0", "clone_name", "e3"), check: lvolAdded("lvs0/e3")},
		{name: "esnap clone of a shared image into a second lvstore", class: classAllow, want: mustAllow,
			layout: func(l *lay) { layEsnapMalloc(l); l.store("m1", "lvs1", 32) },
			attack: attack("bdev_lvol_clone_bdev", "bdev", "img", "lvs_name", "lvs1", "clone_name", "e2"), check: lvolAdded("lvs1/e2")},
		{name: "second esnap clone of an lvol of another lvstore", class: classAllow, want: mustAllow,
			layout: layEsnapLvol, attack: attack("bdev_lvol_clone_bdev", "bdev", "lvs1/src", "lvs_name", "lvs0", "clone_name", "e2"), check: lvolAdded("lvs0/e2")},
		{name: "rename of a writable lvol", class: classAllow, want: mustAllow, mine: []string{"lvs0/other"},
			layout: layOneClone, attack: attack("bdev_lvol_rename", "old_name", "lvs0/other", "new_name", "renamed"), check: aliasBecomes("lvs0/other", "lvs0/renamed")},
		{name: "rename of a writable lvol to 63 bytes", class: classAllow, want: mustAllow, mine: []string{"lvs0/other"},
			layout: layOneClone, attack: attack("bdev_lvol_rename", "old_name", "lvs0/other", "new_name", exactly63), check: aliasBecomes("lvs0/other", "lvs0/"+exactly63)},
		{name: "rename of a writable clone of a shared image", class: classAllow, want: mustAllow, mine: []string{"lvs0/vol1"},
			layout: layOneClone, attack: attack("bdev_lvol_rename", "old_name", "lvs0/vol1", "new_name", "vol1b"), check: aliasBecomes("lvs0/vol1", "lvs0/vol1b")},
		{name: "rename_lvstore", class: classAllow, want: mustAllow, renames: map[string]string{"lvs0": "lvsN"},
			layout: layOneClone, attack: attack("bdev_lvol_rename_lvstore", "old_name", "lvs0", "new_name", "lvsN"), check: aliasBecomes("lvs0/vol1", "lvsN/vol1")},
		{name: "rename_lvstore renamed directly on SPDK first", class: classAllow, want: mustAllow, renames: map[string]string{"lvsD": "lvsE"},
			layout: layOneClone, direct: directRenamedStore, attack: attack("bdev_lvol_rename_lvstore", "old_name", "lvsD", "new_name", "lvsE"), check: aliasBecomes("lvsD/vol1", "lvsE/vol1")},
		{name: "delete of a leaf in an lvstore renamed directly", class: classAllow, want: mustAllow, mine: []string{"lvsD/other"},
			layout: layOneClone, direct: directRenamedStore, attack: attack("bdev_lvol_delete", "name", "lvsD/other"), check: lvolGone("lvsD/other")},
		{name: "rename of an lvol in an lvstore renamed directly", class: classAllow, want: mustAllow, mine: []string{"lvsD/other"},
			layout: layOneClone, direct: directRenamedStore, attack: attack("bdev_lvol_rename", "old_name", "lvsD/other", "new_name", "o2"), check: aliasBecomes("lvsD/other", "lvsD/o2")},
		{name: "delete of a leaf", class: classAllow, want: mustAllow, mine: []string{"lvs0/other"},
			layout: layOneClone, attack: attack("bdev_lvol_delete", "name", "lvs0/other"), check: lvolGone("lvs0/other")},
		{name: "delete of a leaf by UUID", class: classAllow, want: mustAllow, mine: []string{"lvs0/other"},
			layout: layOneClone, attack: attackByUUID("bdev_lvol_delete", "name", "lvs0/other", asIs), check: lvolGone("lvs0/other")},
		{name: "delete of a leaf by UUID in capitals", class: classAllow, want: mustAllow, mine: []string{"lvs0/other"},
			layout: layOneClone, attack: attackByUUID("bdev_lvol_delete", "name", "lvs0/other", inCapitals), check: lvolGone("lvs0/other")},
		{name: "delete of the clone of a shared image", class: classAllow, want: mustAllow, mine: []string{"lvs0/vol1"},
			layout: layOneClone, attack: attack("bdev_lvol_delete", "name", "lvs0/vol1"), check: lvolGone("lvs0/vol1")},
		{name: "delete of one of two clones of a snapshot", class: classAllow, want: mustAllow, mine: []string{"lvs0/c"},
			layout: layShared, attack: attack("bdev_lvol_delete", "name", "lvs0/c"), check: lvolGone("lvs0/c")},
		{name: "delete of an unused snapshot", class: classAllow, want: mustAllow, mine: []string{"lvs0/s"},
			layout: func(l *lay) {
				l.store("m0", "lvs0", 32)
				l.lvol("lvs0", "v", 4)
				l.snap("lvs0/v", "s")
				l.del("lvs0/v")
				l.lvol("lvs0", "other", 4)
			},
			attack: attack("bdev_lvol_delete", "name", "lvs0/s"), check: lvolGone("lvs0/s")},
		{name: "delete of a leaf while another lvstore has a degraded lvol", class: classAllow, want: mustAllow, mine: []string{"lvs0/other"},
			layout: layDegradedBeside, attack: attack("bdev_lvol_delete", "name", "lvs0/other"), check: lvolGone("lvs0/other")},
		{name: "delete_lvstore of an empty lvstore", class: classAllow, want: mustAllow, lvsGone: []string{"lvs1"},
			layout: layOneCloneAndEmpty, attack: attack("bdev_lvol_delete_lvstore", "lvs_name", "lvs1")},
		{name: "delete_lvstore of an empty lvstore by UUID", class: classAllow, want: mustAllow, lvsGone: []string{"lvs1"},
			layout: layOneCloneAndEmpty, attack: attackLvsUUID("bdev_lvol_delete_lvstore", "uuid", "lvs1", asIs)},
		{name: "delete_lvstore of an empty nested lvstore", class: classAllow, want: mustAllow, lvsGone: []string{"inner"},
			layout: layNestedEmpty, attack: attack("bdev_lvol_delete_lvstore", "lvs_name", "inner")},
		{name: "delete of a leaf in a nested lvstore", class: classAllow, want: mustAllow, mine: []string{"inner/ac"},
			layout: layNested, attack: attack("bdev_lvol_delete", "name", "inner/ac"), check: lvolGone("inner/ac")},
		{name: "delete of a leaf beside a nested lvstore's base", class: classAllow, want: mustAllow, mine: []string{"lvs0/x"},
			layout: layNested, attack: attack("bdev_lvol_delete", "name", "lvs0/x"), check: lvolGone("lvs0/x")},
		{name: "delete of a leaf at the top of three stacked lvstores", class: classAllow, want: mustAllow, mine: []string{"core/d"},
			layout: layDeep, attack: attack("bdev_lvol_delete", "name", "core/d"), check: lvolGone("core/d")},
		{name: "delete of a leaf in an lvstore on a split", class: classAllow, want: mustAllow, mine: []string{"onsplit/a"},
			layout: layOnSplit, attack: attack("bdev_lvol_delete", "name", "onsplit/a"), check: lvolGone("onsplit/a")},
		{name: "delete of a leaf in an lvstore on a raid0", class: classAllow, want: mustAllow, mine: []string{"onraid/a"},
			layout: layOnRaid("raid0"), attack: attack("bdev_lvol_delete", "name", "onraid/a"), check: lvolGone("onraid/a")},
		{name: "delete of a leaf in an lvstore on a passthru", class: classAllow, want: mustAllow, mine: []string{"onpt/a"},
			layout: layOnPassthru, attack: attack("bdev_lvol_delete", "name", "onpt/a"), check: lvolGone("onpt/a")},
		{name: "split_delete of an unused split", class: classAllow, want: mustAllow, mine: []string{"m5p0", "m5p1"},
			layout: layWithLeaf(func(l *lay) {
				l.malloc("m5", 8)
				l.call("bdev_split_create", jobj("base_bdev", "m5", "split_count", 2))
			}),
			attack: attack("bdev_split_delete", "base_bdev", "m5")},
		{name: "raid_delete of an unused raid", class: classAllow, want: mustAllow, mine: []string{"r9"},
			layout: layWithLeaf(func(l *lay) {
				l.malloc("m6", 8)
				l.malloc("m7", 8)
				l.call("bdev_raid_create", jobj("name", "r9", "raid_level", "raid0", "strip_size_kb", 64, "base_bdevs", json.RawMessage(`["m6","m7"]`)))
			}),
			attack: attack("bdev_raid_delete", "name", "r9")},
		{name: "malloc_delete of an unused bdev", class: classAllow, want: mustAllow, mine: []string{"free"},
			layout: layWithLeaf(func(l *lay) { l.malloc("free", 8) }), attack: attack("bdev_malloc_delete", "name", "free")},
		{name: "malloc_delete of an image no clone reads any more", class: classAllow, want: mustAllow, mine: []string{"img"},
			layout: func(l *lay) { layEsnapMalloc(l); l.del("lvs0/e1") }, attack: attack("bdev_malloc_delete", "name", "img")},
		{name: "delete of an esnap clone of a shared image", class: classAllow, want: mustAllow, mine: []string{"lvs0/e1"},
			layout: func(l *lay) { layEsnapMalloc(l); l.esnap("img", "lvs0", "e2") }, attack: attack("bdev_lvol_delete", "name", "lvs0/e1"), check: lvolGone("lvs0/e1")},
		{name: "delete of an esnap clone of an lvol of another lvstore", class: classAllow, want: mustAllow, mine: []string{"lvs0/e1"},
			layout: layEsnapLvol, attack: attack("bdev_lvol_delete", "name", "lvs0/e1"), check: lvolGone("lvs0/e1")},
		{name: "resize grow of a leaf", class: classAllow, want: mustAllow, mine: []string{"lvs0/other"},
			layout: layOneClone, attack: attack("bdev_lvol_resize", "name", "lvs0/other", "size_in_mib", 8)},
		{name: "resize grow of a nested lvstore's base", class: classAllow, want: mustAllow, mine: []string{"lvs0/base"},
			layout: layNested, attack: attack("bdev_lvol_resize", "name", "lvs0/base", "size_in_mib", 24)},
		{name: "resize shrink of a leaf nothing reads from", class: classAllow, want: mustAllow, mine: []string{"lvs0/t"},
			layout: func(l *lay) { layOneClone(l); l.thick("lvs0", "t", 4) }, attack: attack("bdev_lvol_resize", "name", "lvs0/t", "size_in_mib", 2)},
		{name: "delete of a missing lvol answers SPDK's -19", class: classAllow, want: mustAllowErr, code: -19,
			layout: layOneClone, attack: attack("bdev_lvol_delete", "name", "lvs0/nope")},
		{name: "delete of a missing lvol by UUID answers SPDK's -19", class: classAllow, want: mustAllowErr, code: -19,
			layout: layOneClone, attack: attack("bdev_lvol_delete", "name", "00000000-0000-4000-8000-000000000000")},
		{name: "clone of a shared image", class: classAllow, want: mustAllow,
			layout: layOneClone, attack: attack("bdev_lvol_clone", "snapshot_name", "lvs0/img", "clone_name", "vol2"), check: lvolAdded("lvs0/vol2")},
		{name: "snapshot of a clone of a shared image", class: classAllow, want: mustAllow, mine: []string{"lvs0/vol1"},
			layout: layOneClone, attack: attack("bdev_lvol_snapshot", "lvol_name", "lvs0/vol1", "snapshot_name", "vol1-s"), check: lvolAdded("lvs0/vol1-s")},
		{name: "create of an lvol", class: classAllow, want: mustAllow,
			layout: layOneClone, attack: attack("bdev_lvol_create", "lvol_name", "new", "size_in_mib", 4, "lvs_name", "lvs0", "thin_provision", true), check: lvolAdded("lvs0/new")},
		{name: "set_parent of a leaf onto a shared image", class: classAllow, want: mustAllow, mine: []string{"lvs0/other"},
			layout: layOneClone, attack: attack("bdev_lvol_set_parent", "lvol_name", "lvs0/other", "parent_name", "lvs0/img")},
		{name: "set_parent_bdev of a leaf onto a shared image", class: classAllow, want: mustAllow, mine: []string{"lvs0/other"},
			layout: layEsnapMalloc, attack: attack("bdev_lvol_set_parent_bdev", "lvol_name", "lvs0/other", "parent_name", "img")},
		{name: "decouple_parent of a clone of a shared snapshot", class: classAllow, want: mustAllow, mine: []string{"lvs0/c"},
			layout: layShared, attack: attack("bdev_lvol_decouple_parent", "name", "lvs0/c")},
		{name: "inflate of a clone of a shared snapshot", class: classAllow, want: mustAllow, mine: []string{"lvs0/c"},
			layout: layShared, attack: attack("bdev_lvol_inflate", "name", "lvs0/c")},
		{name: "shallow copy onto an unused bdev", class: classAllow, want: mustAllow, mine: []string{"free"},
			layout: func(l *lay) { layOneClone(l); l.malloc("free", 8) },
			attack: attack("bdev_lvol_start_shallow_copy", "src_lvol_name", "lvs0/img", "dst_bdev_name", "free"), await: awaitShallowCopy},
	}
}

// directFailedRename renames the snapshot lvs0/img straight on SPDK: SPDK
// refuses it (a snapshot is read-only) but has already moved the bdev
// alias to lvs0/imgX.
func directFailedRename(l *lay) {
	if _, err := l.try("bdev_lvol_rename", jobj("old_name", "lvs0/img", "new_name", "imgX")); err == nil {
		l.t.Log("SPDK renamed the snapshot (the real target refuses it, half done)")
	}
}
