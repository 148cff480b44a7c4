package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdktgt"
)

// The adversarial suite of issue 10: calls through the agent that would
// break a volume other than the one they name, hang or crash SPDK, and
// legitimate calls the guard must not refuse. Every case runs on the
// simulator and, in the real-SPDK tier (SPDK_TGT), on a real spdk_tgt;
// each is judged on SPDK's own state afterwards and on the target still
// answering, never on the agent's view.
//
//	go test -race -run Adversarial ./agent/
//	SPDK_TGT=../shared/spdk/bin/spdk_tgt go test -run Adversarial ./agent/

func TestAdversarial_cases(t *testing.T) {
	cases := advCases()
	backends(t, func(t *testing.T, real bool) {
		for _, c := range cases {
			t.Run(string(c.class)+"/"+c.want.label()+"/"+c.name, func(t *testing.T) { runAdvCase(t, real, c) })
		}
	})
}

// runAdvCase builds the case's layout, attacks through the agent and
// judges the outcome and SPDK's truth.
func runAdvCase(t *testing.T, real bool, c advCase) {
	if c.realOnly != "" && !real {
		t.Skip("real SPDK only: " + c.realOnly)
	}
	n := startAdvNode(t, real, nil)
	l := &lay{t: t, n: n, real: real, dir: n.dir}
	c.layout(l)
	n.settle(t)
	if c.direct != nil {
		c.direct(l)
	}
	before := n.truthOrFail(t)
	spare := advSpare{lvols: map[string]bool{}, lvsGone: map[string]bool{}, renames: c.renames}
	for _, a := range c.mine {
		if id, ok := before.byAlias(a); ok {
			spare.lvols[id] = true
		} else {
			spare.lvols[a] = true // a bdev's name
		}
	}
	for _, s := range c.lvsGone {
		spare.lvsGone[s] = true
	}
	method, params := c.attack(l)
	what := method + " " + params
	t.Logf("%s, %s: %s", c.class, c.want, what)
	res, err := n.viaCall(method, params, advAttackTimeout)
	out := judgeOutcome(t, c.want, c.code, what, err)
	if out == outOK && c.await != nil {
		c.await(l, res)
	}
	after, alive := n.advAlive(t, "after "+what)
	if !alive {
		n.restartIfReal(t)
		return
	}
	if out == outHung {
		// SPDK still holds the call: judge what it did, then replace it.
		defer n.restartIfReal(t)
	}
	if out != outOK {
		spare = advSpare{} // a call that did not succeed changes nothing
	}
	advCompareTruth(t, before, after, spare)
	if out == outOK && c.check != nil {
		c.check(t, before, after)
	}
}

// The table holds enough cases of every class, and names are unique.
func TestAdversarial_table(t *testing.T) {
	per := map[advClass]int{}
	seen := map[string]bool{}
	for _, c := range advCases() {
		per[c.class]++
		if seen[string(c.class)+"/"+c.name] {
			t.Errorf("case %q twice", c.name)
		}
		seen[string(c.class)+"/"+c.name] = true
		if c.want == 0 || c.layout == nil || c.attack == nil {
			t.Errorf("case %q is incomplete", c.name)
		}
	}
	total := 0
	for _, k := range []advClass{classResolution, classStack, classChain, classSharp, classAllow} {
		total += per[k]
		if per[k] < 5 {
			t.Errorf("class %s has %d cases", k, per[k])
		}
	}
	if total < 60 {
		t.Errorf("%d table cases, want at least 60", total)
	}
	t.Logf("cases per class: %v", per)
}

// --- Deadlines ---

func TestAdversarial_deadlines(t *testing.T) { backends(t, advDeadlines) }

// advDeadline is the agent's call deadline in these tests.
const advDeadline = 500 * time.Millisecond

// stopSPDK makes SPDK stop answering: a real target is sent SIGSTOP; the
// simulator hangs every method the agent uses (their effects still
// happen). resume undoes it; a test clean-up resumes too.
func (n *node) stopSPDK(t testing.TB) (resume func()) {
	t.Helper()
	if n.tgt != nil {
		pid := n.tgt.PID()
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		once := sync.OnceFunc(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
		t.Cleanup(once)
		return once
	}
	for _, m := range []string{"spdk_get_version", "rpc_get_methods", "bdev_get_bdevs", "bdev_lvol_get_lvols",
		"bdev_lvol_get_lvstores", "notify_get_notifications", "bdev_get_iostat", "bdev_lvol_delete",
		"bdev_lvol_create", "bdev_wait_for_examine"} {
		n.sim.SetHang(m, true)
	}
	return sync.OnceFunc(n.sim.ClearFaults)
}

// timed makes one call through a new connection to the agent and returns
// its error and how long it took (bounded by advAttackTimeout*2).
func (n *node) timed(method, params string) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*advAttackTimeout)
	defer cancel()
	c, err := spdkrpc.Dial(ctx, n.cfg.RPCSocket, spdkrpc.Options{})
	if err != nil {
		return time.Since(start), err
	}
	defer c.Close()
	_, err = c.CallRaw(ctx, method, []byte(params))
	return time.Since(start), err
}

// requireSPDKStyle fails t unless err is a JSON-RPC error that came back
// in time.
func requireSPDKStyle(t testing.TB, what string, err error, took, limit time.Duration) {
	t.Helper()
	var se *spdkrpc.Error
	switch {
	case err == nil:
		t.Errorf("%s succeeded while SPDK was stopped", what)
	case !errors.As(err, &se):
		t.Errorf("%s: after %v: %v, want an SPDK-style error within %v", what, took.Round(time.Millisecond), err, limit)
	case took > limit:
		t.Errorf("%s: answered %q after %v, want within %v", what, se.Message, took.Round(time.Millisecond), limit)
	}
}

func advDeadlines(t *testing.T, real bool) {
	n := startAdvNode(t, real, func(c *Config) { c.CallTimeout = advDeadline })
	l := &lay{t: t, n: n, real: real, dir: n.dir}
	l.store("m0", "lvs0", 32)
	for i := range 7 {
		l.lvol("lvs0", fmt.Sprintf("leaf%d", i), 4)
	}
	l.lvol("lvs0", "keep", 4)
	l.snap("lvs0/keep", "keep-s")
	n.settle(t)
	before := n.truthOrFail(t)
	// A forwarded call has one deadline; a guarded one may also spend one
	// on its fresh read of SPDK.
	plain := advDeadline + time.Second
	guarded := 2*advDeadline + time.Second

	resume := n.stopSPDK(t)
	t.Run("deadline/read-only call returns an error in time", func(t *testing.T) {
		took, err := n.timed("bdev_get_bdevs", `{"name":"lvs0/keep"}`)
		requireSPDKStyle(t, "bdev_get_bdevs", err, took, plain)
	})
	t.Run("deadline/create returns an error in time", func(t *testing.T) {
		took, err := n.timed("bdev_lvol_create", jobj("lvol_name", "late", "size_in_mib", 4, "lvs_name", "lvs0", "thin_provision", true))
		requireSPDKStyle(t, "bdev_lvol_create", err, took, plain)
	})
	t.Run("deadline/guarded delete returns an error in time", func(t *testing.T) {
		took, err := n.timed("bdev_lvol_delete", `{"name":"lvs0/leaf0"}`)
		requireSPDKStyle(t, "bdev_lvol_delete", err, took, guarded)
	})
	t.Run("deadline/concurrent deletes on one lvstore each return in time", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 1; i <= 4; i++ {
			wg.Go(func() {
				what := fmt.Sprintf("bdev_lvol_delete lvs0/leaf%d", i)
				took, err := n.timed("bdev_lvol_delete", jobj("name", fmt.Sprintf("lvs0/leaf%d", i)))
				requireSPDKStyle(t, what, err, took, guarded)
			})
		}
		wg.Wait()
	})
	resume()
	t.Run("deadline/destructive calls are not locked out after SPDK resumes", func(t *testing.T) {
		// leaf0's delete timed out while SPDK was stopped (a real target
		// carries it out once resumed): once a fresh read has settled it,
		// deleting it again succeeds or gets SPDK's own -19.
		for _, leaf := range []string{"lvs0/leaf5", "lvs0/leaf6", "lvs0/leaf0"} {
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, err := n.viaCall("bdev_lvol_delete", jobj("name", leaf), advAttackTimeout)
				if err == nil || leaf == "lvs0/leaf0" && errors.Is(err, spdkrpc.ErrNotFound) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("delete of %s after SPDK resumed: still %v after 5 s", leaf, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
	t.Run("deadline/SPDK's truth afterwards", func(t *testing.T) {
		after, alive := n.advAlive(t, "after the stop")
		if !alive {
			n.restartIfReal(t)
			return
		}
		spare := advSpare{lvols: map[string]bool{}}
		for i := range 7 {
			id, _ := before.byAlias(fmt.Sprintf("lvs0/leaf%d", i))
			spare.lvols[id] = true
		}
		advCompareTruth(t, before, after, spare)
	})
}

// --- Races ---

func TestAdversarial_races(t *testing.T) { backends(t, advRaces) }

// raceCall is one call of a race and what became of it.
type raceCall struct {
	method, params string
	err            error
}

// race runs the calls at once, each on its own connection to the agent.
func (n *node) race(t testing.TB, calls []*raceCall) {
	t.Helper()
	clients := make([]*spdkrpc.Client, len(calls))
	for i := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), advSetupTimeout)
		c, err := spdkrpc.Dial(ctx, n.cfg.RPCSocket, spdkrpc.Options{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, rc := range calls {
		wg.Go(func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), advAttackTimeout)
			defer cancel()
			_, rc.err = clients[i].CallRaw(ctx, rc.method, []byte(rc.params))
		})
	}
	close(start)
	wg.Wait()
}

// raceTarget is one target of a race round: one destructive call against
// calls that make something depend on what it destroys.
type raceTarget struct {
	kill *raceCall
	deps []*raceCall
}

// raceKind is one race of the suite.
type raceKind struct {
	name string
	// setup builds the base layout once.
	setup func(l *lay)
	// target builds target i of round r.
	target func(l *lay, r, i int) raceTarget
}

var advRaceKinds = []raceKind{
	{name: "clone against delete of its snapshot",
		setup: func(l *lay) { l.store("m0", "lvs0", 128); l.lvol("lvs0", "other", 4) },
		target: func(l *lay, r, i int) raceTarget {
			s := advUnusedSnapshot(l, r, i)
			var deps []*raceCall
			for j := range 3 {
				deps = append(deps, &raceCall{method: "bdev_lvol_clone", params: jobj("snapshot_name", s, "clone_name", fmt.Sprintf("c%d-%d-%d", r, i, j))})
			}
			return raceTarget{&raceCall{method: "bdev_lvol_delete", params: jobj("name", s)}, deps}
		}},
	{name: "set_parent against delete of the parent",
		setup: func(l *lay) { l.store("m0", "lvs0", 128); l.lvol("lvs0", "other", 4) },
		target: func(l *lay, r, i int) raceTarget {
			s := advUnusedSnapshot(l, r, i)
			w := fmt.Sprintf("w%d-%d", r, i)
			l.lvol("lvs0", w, 1)
			return raceTarget{&raceCall{method: "bdev_lvol_delete", params: jobj("name", s)}, []*raceCall{
				{method: "bdev_lvol_set_parent", params: jobj("lvol_name", "lvs0/"+w, "parent_name", s)},
				{method: "bdev_lvol_clone", params: jobj("snapshot_name", s, "clone_name", fmt.Sprintf("c%d-%d", r, i))},
			}}
		}},
	{name: "create against delete_lvstore",
		setup: func(l *lay) { l.store("m0", "lvs0", 32); l.lvol("lvs0", "other", 4) },
		target: func(l *lay, r, i int) raceTarget {
			lvs := fmt.Sprintf("L%d-%d", r, i)
			l.store("M"+lvs, lvs, 8)
			var deps []*raceCall
			for j := range 3 {
				deps = append(deps, &raceCall{method: "bdev_lvol_create", params: jobj("lvol_name", fmt.Sprintf("n%d", j), "size_in_mib", 1, "lvs_name", lvs, "thin_provision", true)})
			}
			return raceTarget{&raceCall{method: "bdev_lvol_delete_lvstore", params: jobj("lvs_name", lvs)}, deps}
		}},
	{name: "clone_bdev against delete of its esnap parent",
		setup: func(l *lay) { l.store("m0", "lvs0", 64); l.store("m1", "lvs1", 64); l.lvol("lvs0", "other", 4) },
		target: func(l *lay, r, i int) raceTarget {
			src := fmt.Sprintf("src%d-%d", r, i)
			l.thick("lvs1", src, 1)
			var deps []*raceCall
			for j := range 2 {
				deps = append(deps, &raceCall{method: "bdev_lvol_clone_bdev", params: jobj("bdev", "lvs1/"+src, "lvs_name", "lvs0", "clone_name", fmt.Sprintf("e%d-%d-%d", r, i, j))})
			}
			return raceTarget{&raceCall{method: "bdev_lvol_delete", params: jobj("name", "lvs1/"+src)}, deps}
		}},
}

// advUnusedSnapshot makes a snapshot no lvol reads from in lvs0 and returns
// its alias.
func advUnusedSnapshot(l *lay, r, i int) string {
	v, s := fmt.Sprintf("v%d-%d", r, i), fmt.Sprintf("s%d-%d", r, i)
	l.lvol("lvs0", v, 1)
	l.snap("lvs0/"+v, s)
	l.del("lvs0/" + v)
	return "lvs0/" + s
}

func advRaces(t *testing.T, real bool) {
	rounds, targets := 6, 4
	if real {
		rounds = 3
	}
	for _, k := range advRaceKinds {
		t.Run("race/"+k.name, func(t *testing.T) {
			n := startAdvNode(t, real, nil)
			l := &lay{t: t, n: n, real: real, dir: n.dir}
			k.setup(l)
			for r := range rounds {
				var all []*raceCall
				var ts []raceTarget
				for i := range targets {
					tg := k.target(l, r, i)
					ts = append(ts, tg)
					all = append(all, tg.kill)
					all = append(all, tg.deps...)
				}
				n.settle(t)
				before := n.truthOrFail(t)
				rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
				n.race(t, all)
				for _, c := range all {
					if out, _ := classifyOutcome(c.err); out == outHung || out == outBroken {
						t.Errorf("round %d: %s %s: %s (%v)", r, c.method, c.params, out, c.err)
					}
				}
				after, alive := n.advAlive(t, fmt.Sprintf("after race round %d", r))
				if !alive {
					n.restartIfReal(t)
					return
				}
				advJudgeRace(t, r, before, after, ts)
				if t.Failed() {
					return
				}
			}
		})
	}
}

// judgeRace checks a round against what each successful call implies: a
// destructive call and a call depending on its target cannot both have
// succeeded (the snapshot would have been merged, the lvol lost with its
// lvstore, the esnap parent deleted under its clone); every lvol a
// successful call made exists, with the parent it was given; nothing
// else changed.
func advJudgeRace(t testing.TB, r int, before, after advTruth, ts []raceTarget) {
	t.Helper()
	spare := advSpare{lvols: map[string]bool{}, lvsGone: map[string]bool{}}
	for _, tg := range ts {
		kp := advFlatParams(tg.kill.params)
		var okDeps []string
		for _, d := range tg.deps {
			if d.err != nil {
				continue
			}
			okDeps = append(okDeps, d.method+" "+d.params)
			dp := advFlatParams(d.params)
			var made, parent string
			switch d.method {
			case "bdev_lvol_clone":
				made, parent = lvstoreOf(dp["snapshot_name"])+"/"+dp["clone_name"], dp["snapshot_name"]
			case "bdev_lvol_clone_bdev":
				made, parent = dp["lvs_name"]+"/"+dp["clone_name"], dp["bdev"]
			case "bdev_lvol_create":
				made = dp["lvs_name"] + "/" + dp["lvol_name"]
			case "bdev_lvol_set_parent":
				made, parent = dp["lvol_name"], dp["parent_name"]
				if id, ok := before.byAlias(made); ok {
					spare.lvols[id] = true // its own chain changes
				}
			}
			id, ok := after.byAlias(made)
			if !ok {
				t.Errorf("round %d: %s %s succeeded, but %s is gone", r, d.method, d.params, made)
				continue
			}
			if pid, ok := before.byAlias(parent); ok && tg.kill.err != nil {
				if ch := after.lvols[id].Chain; len(ch) == 0 || ch[0] != pid {
					t.Errorf("round %d: %s's parent is %v, want %s", r, made, after.names(ch), parent)
				}
			}
		}
		if tg.kill.err == nil && len(okDeps) > 0 {
			t.Errorf("round %d: %s %s and %v all succeeded: something was merged, lost or left without its parent",
				r, tg.kill.method, tg.kill.params, okDeps)
		}
		if id, ok := before.byAlias(kp["name"]); ok {
			spare.lvols[id] = true
		}
		if s := kp["lvs_name"]; s != "" {
			spare.lvsGone[s] = true
		}
	}
	advCompareTruth(t, before, after, spare)
}

// advFlatParams reads a flat object of string (and other) members.
func advFlatParams(params string) map[string]string {
	var raw map[string]any
	_ = json.Unmarshal([]byte(params), &raw)
	out := map[string]string{}
	for k, v := range raw {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// lvstoreOf returns the lvstore part of an lvs/lvol alias.
func lvstoreOf(alias string) string { s, _, _ := strings.Cut(alias, "/"); return s }

// --- The property test ---

// TestAdversarial_property builds random layouts (chains, clones, esnap
// clones of a malloc image and of another lvstore's lvol, a nested
// lvstore, on a real target a raid0) and makes random calls through the
// agent, dangerous ones included, naming objects by alias, UUID or UUID in
// capitals. After each call no lvol outside the call's own volume may have
// changed and SPDK must answer. ADV_SEED replays a run; the budget is
// about 40 s on a real target.
func TestAdversarial_property(t *testing.T) { backends(t, advProperty) }

func advProperty(t *testing.T, real bool) {
	if real && !spdktgt.Enabled() {
		t.Skip(spdktgt.SkipMessage) // else every layout's subtest would skip, until the budget ends
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ADV_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ADV_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with ADV_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	budget := 15 * time.Second
	if real {
		budget = 40 * time.Second
	}
	end := time.Now().Add(budget)
	for layout := 0; time.Now().Before(end); layout++ {
		ok := t.Run(fmt.Sprintf("layout%d", layout), func(t *testing.T) {
			n := startAdvNode(t, real, nil)
			l := &lay{t: t, n: n, real: real, dir: n.dir}
			advRandomLayout(l, rng)
			n.settle(t)
			for step := 0; step < 40 && time.Now().Before(end); step++ {
				before := n.truthOrFail(t)
				pc := advRandomCall(rng, before, real, step)
				what := fmt.Sprintf("seed %d layout %d step %d: %s %s", seed, layout, step, pc.method, pc.params)
				_, err := n.viaCall(pc.method, pc.params, advAttackTimeout)
				out, _ := classifyOutcome(err)
				if out == outHung || out == outBroken {
					t.Errorf("%s: %s (%v)", what, out, err)
				}
				after, alive := n.advAlive(t, "after "+what)
				if !alive {
					n.restartIfReal(t)
					return
				}
				advCompareTruth(t, before, after, pc.spare(before, out == outOK))
				if t.Failed() {
					if out == outHung {
						n.restartIfReal(t)
					}
					t.Fatalf("%s (%s) broke what it does not own", what, out)
				}
			}
		})
		if !ok {
			return
		}
	}
}

// advRandomLayout builds lvstores p0 (on m0) and p1 (on m1) with random
// chains, esnap clones of the image pimg and of p1's lvols, maybe the
// lvstore p2 nested on p0/nb and, on a real target, p3 on a raid0.
func advRandomLayout(l *lay, rng *rand.Rand) {
	l.store("m0", "p0", 96)
	l.store("m1", "p1", 48)
	l.malloc("pimg", 4)
	stores := []string{"p0", "p1"}
	if rng.IntN(2) == 0 {
		l.thick("p0", "nb", 16)
		l.lvs("p0/nb", "p2")
		stores = append(stores, "p2")
	}
	if l.real && rng.IntN(2) == 0 {
		l.malloc("m3", 16)
		l.malloc("m4", 16)
		l.call("bdev_raid_create", jobj("name", "r0", "raid_level", "raid0", "strip_size_kb", 64, "base_bdevs", json.RawMessage(`["m3","m4"]`)))
		l.lvs("r0", "p3")
		stores = append(stores, "p3")
	}
	var lvols, snaps []string
	for i := range 4 + rng.IntN(6) {
		lvs := stores[rng.IntN(len(stores))]
		name := fmt.Sprintf("%s/x%d", lvs, i)
		switch k := rng.IntN(6); {
		case k == 0 && len(snaps) > 0:
			s := snaps[rng.IntN(len(snaps))]
			name = lvstoreOf(s) + fmt.Sprintf("/x%d", i)
			l.clone(s, name[len(lvstoreOf(s))+1:])
		case k == 1:
			l.esnap("pimg", lvs, name[len(lvs)+1:])
		case k == 2 && len(lvols) > 0:
			src := lvols[rng.IntN(len(lvols))]
			if lvstoreOf(src) == lvs {
				l.lvol(lvs, name[len(lvs)+1:], 4)
			} else {
				l.esnap(src, lvs, name[len(lvs)+1:])
			}
		case k == 3:
			l.thick(lvs, name[len(lvs)+1:], 4)
		default:
			l.lvol(lvs, name[len(lvs)+1:], 4)
		}
		lvols = append(lvols, name)
		for range rng.IntN(3) {
			s := fmt.Sprintf("%s-s%d", name[len(lvstoreOf(name))+1:], len(snaps))
			if _, err := l.try("bdev_lvol_snapshot", jobj("lvol_name", name, "snapshot_name", s)); err == nil {
				snaps = append(snaps, lvstoreOf(name)+"/"+s)
			}
		}
	}
}

// propCall is one random call and the objects it owns.
type propCall struct {
	method, params string
	own            []string // lvol UUIDs or bdev names the call may change
	lvs            string   // the lvstore it names, if any
	renameTo       string   // the new name, for rename_lvstore
}

// spare is what the call may change: its own lvols and bdevs; the lvstore
// it deletes, when that succeeded and held nothing; its rename.
func (pc propCall) spare(before advTruth, ok bool) advSpare {
	s := advSpare{lvols: map[string]bool{}, lvsGone: map[string]bool{}, renames: map[string]string{}}
	for _, o := range pc.own {
		s.lvols[o] = true
	}
	if ok && pc.method == "bdev_lvol_delete_lvstore" {
		s.lvsGone[pc.lvs] = true
	}
	if ok && pc.renameTo != "" {
		s.renames[pc.lvs] = pc.renameTo
	}
	// A call in an lvstore writes metadata onto its base: an lvol beneath
	// a nested lvstore may gain clusters, which are that lvstore's own.
	stores := map[string]bool{}
	if pc.lvs != "" {
		stores[pc.lvs] = true
	}
	for _, o := range pc.own {
		if l, ok := before.lvols[o]; ok {
			stores[lvstoreOf(l.Alias)] = true
		}
	}
	// And the lvstores its params name: lvs_name, or lvs/lvol aliases
	// (a clone of p2/x lands in p2).
	var ps map[string]any
	_ = json.Unmarshal([]byte(pc.params), &ps)
	for k, v := range ps {
		if str, ok := v.(string); ok {
			if k == "lvs_name" {
				stores[str] = true
			} else if st, _, found := strings.Cut(str, "/"); found {
				stores[st] = true
			} else if l, ok := before.lvols[strings.ToLower(str)]; ok {
				stores[lvstoreOf(l.Alias)] = true
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, v := range before.lvstores {
			name, base, _ := strings.Cut(v, " on ")
			l, isLvol := before.lvols[base]
			if stores[name] && isLvol && !s.lvols[base] {
				s.lvols[base] = true
				stores[lvstoreOf(l.Alias)] = true
				changed = true
			}
		}
	}
	return s
}

// advRandomCall picks a call on the objects SPDK holds now.
func advRandomCall(rng *rand.Rand, tr advTruth, real bool, step int) propCall {
	ids := slices.Sorted(maps.Keys(tr.lvols))
	var snaps []string
	for _, id := range ids {
		if tr.lvols[id].Snapshot {
			snaps = append(snaps, id)
		}
	}
	var stores []string
	for _, v := range tr.lvstores {
		name, _, _ := strings.Cut(v, " on ")
		stores = append(stores, name)
	}
	slices.Sort(stores)
	bdevs := slices.Sorted(maps.Keys(tr.bdevs))
	pick := func(xs []string) string {
		if len(xs) == 0 {
			return "none"
		}
		return xs[rng.IntN(len(xs))]
	}
	// ref names an lvol the way a caller might.
	ref := func(id string) string {
		l, ok := tr.lvols[id]
		switch r := rng.IntN(4); {
		case !ok:
			return id
		case r == 0:
			return id
		case r == 1:
			return strings.ToUpper(id)
		}
		return l.Alias
	}
	anyBdev := func() string {
		if rng.IntN(2) == 0 || len(ids) == 0 {
			return pick(bdevs)
		}
		return ref(pick(ids))
	}
	name := fmt.Sprintf("q%d", step)
	if rng.IntN(10) == 0 {
		name = strings.Repeat("q", 64)
	}
	lv, sn, st := pick(ids), pick(snaps), pick(stores)
	switch rng.IntN(16) {
	case 0, 1, 2:
		return propCall{method: "bdev_lvol_delete", params: jobj("name", ref(lv)), own: []string{lv}}
	case 3:
		return propCall{method: "bdev_lvol_delete", params: jobj("name", ref(sn)), own: []string{sn}}
	case 4:
		if rng.IntN(2) == 0 {
			return propCall{method: "bdev_lvol_delete_lvstore", params: jobj("lvs_name", st), lvs: st}
		}
		return propCall{method: "bdev_lvol_delete_lvstore", params: jobj("uuid", strings.ToUpper(advLvsUUIDOf(tr, st))), lvs: st}
	case 5:
		b := pick(bdevs)
		m := "bdev_malloc_delete"
		switch {
		case strings.HasPrefix(tr.bdevs[b], "Raid"):
			m = "bdev_raid_delete"
		case real && rng.IntN(3) == 0:
			// A raid0 that loses a member goes offline, which the guard
			// allows when nothing stands on the raid: the raid is the
			// call's to take down, what stands on it (an lvstore and its
			// lvols) is not.
			own := []string{b}
			for _, r := range bdevs {
				if strings.HasPrefix(tr.bdevs[r], "Raid") {
					own = append(own, r)
				}
			}
			return propCall{method: "bdev_raid_remove_base_bdev", params: jobj("name", b), own: own}
		}
		return propCall{method: m, params: jobj("name", b), own: []string{b}}
	case 6:
		return propCall{method: "bdev_lvol_clone", params: jobj("snapshot_name", ref(sn), "clone_name", name)}
	case 7:
		return propCall{method: "bdev_lvol_snapshot", params: jobj("lvol_name", ref(lv), "snapshot_name", name), own: []string{lv}}
	case 8:
		return propCall{method: "bdev_lvol_set_parent", params: jobj("lvol_name", ref(lv), "parent_name", ref(sn)), own: []string{lv}}
	case 9:
		return propCall{method: "bdev_lvol_set_parent_bdev", params: jobj("lvol_name", ref(lv), "parent_name", anyBdev()), own: []string{lv}}
	case 10:
		return propCall{method: "bdev_lvol_clone_bdev", params: jobj("bdev", anyBdev(), "lvs_name", st, "clone_name", name)}
	case 11:
		return propCall{method: "bdev_lvol_resize", params: jobj("name", ref(lv), "size_in_mib", 1+rng.IntN(8)), own: []string{lv}}
	case 12:
		return propCall{method: "bdev_lvol_rename", params: jobj("old_name", ref(lv), "new_name", name), own: []string{lv}}
	case 13:
		return propCall{method: "bdev_lvol_rename_lvstore", params: jobj("old_name", st, "new_name", "r"+name), lvs: st, renameTo: "r" + name}
	case 14:
		return propCall{method: "bdev_lvol_inflate", params: jobj("name", ref(lv)), own: []string{lv}}
	}
	return propCall{method: "bdev_lvol_decouple_parent", params: jobj("name", ref(lv)), own: []string{lv}}
}

// advLvsUUIDOf returns the UUID of the lvstore called name.
func advLvsUUIDOf(tr advTruth, name string) string {
	for id, v := range tr.lvstores {
		if strings.HasPrefix(v, name+" on ") {
			return id
		}
	}
	return name
}
