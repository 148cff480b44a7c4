package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Helpers of the adversarial suite (adversarial_test.go): building layouts
// straight on SPDK, calling through the agent, and reading SPDK's own truth
// with deadlines, so that a target the attack hung or crashed fails the
// case instead of wedging the test binary.

// Deadlines of the suite. An attack that SPDK never answers is "hung"; a
// target that does not answer the probes after it is wedged or dead.
const (
	advAttackTimeout = 2500 * time.Millisecond
	advProbeTimeout  = 2 * time.Second
	advSetupTimeout  = 10 * time.Second
)

// advWant is what the guard must do with a case's call.
type advWant int

const (
	// mustRefuse: the guard refuses (-1 "Operation not permitted...").
	mustRefuse advWant = iota + 1
	// mustFail: refused by the guard or rejected by SPDK itself, never
	// carried out (for calls SPDK rejects harmlessly on its own).
	mustFail
	// mustAllow: forwarded, and SPDK carries it out.
	mustAllow
	// mustAllowErr: forwarded, and SPDK's own error (advCase.code) comes
	// back to the caller unchanged.
	mustAllowErr
)

func (w advWant) String() string {
	switch w {
	case mustRefuse:
		return "must refuse"
	case mustFail:
		return "must not succeed"
	case mustAllow:
		return "must allow"
	case mustAllowErr:
		return "must forward (SPDK's error)"
	}
	return "?"
}

// label is the want in a case's test name, so that -run can pick the
// refusals or the allowed calls of a class.
func (w advWant) label() string {
	return map[advWant]string{mustRefuse: "refuse", mustFail: "no-success", mustAllow: "allow", mustAllowErr: "forward"}[w]
}

// advClass is a case's class, as issue 10 lists them.
type advClass string

const (
	classResolution advClass = "resolution"
	classStack      advClass = "stack"
	classChain      advClass = "chain"
	classSharp      advClass = "sharp-edge"
	classDeadline   advClass = "deadline"
	classRace       advClass = "race"
	classAllow      advClass = "false-refusal"
)

// advOutcome is what became of a call through the agent.
type advOutcome int

const (
	outOK      advOutcome = iota + 1
	outRefused            // the guard's refusal
	outSPDKErr            // any other JSON-RPC error (SPDK's, or the agent's invalid-params)
	outHung               // no answer within the attack's deadline
	outBroken             // the connection failed: no JSON-RPC answer at all
)

func (o advOutcome) String() string {
	return map[advOutcome]string{outOK: "succeeded", outRefused: "refused", outSPDKErr: "SPDK error", outHung: "hung", outBroken: "no answer (connection error)"}[o]
}

// classifyOutcome tells the guard's refusal from everything else.
func classifyOutcome(err error) (advOutcome, *spdkrpc.Error) {
	if err == nil {
		return outOK, nil
	}
	var se *spdkrpc.Error
	if errors.As(err, &se) {
		if se.Code == -1 && strings.HasPrefix(se.Message, "Operation not permitted") {
			return outRefused, se
		}
		return outSPDKErr, se
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return outHung, nil
	}
	return outBroken, nil
}

// judgeOutcome fails t when the outcome is not what the case wants.
func judgeOutcome(t testing.TB, want advWant, code int, what string, err error) advOutcome {
	t.Helper()
	out, se := classifyOutcome(err)
	bad := false
	switch want {
	case mustRefuse:
		bad = out != outRefused
	case mustFail:
		bad = out != outRefused && out != outSPDKErr
	case mustAllow:
		bad = out != outOK
	case mustAllowErr:
		bad = out != outSPDKErr || se.Code != code
	}
	if bad {
		extra := ""
		if want == mustAllowErr {
			extra = fmt.Sprintf(" %d", code)
		}
		t.Errorf("%s: %s, want %s%s (err %v)", what, out, want, extra, err)
	}
	return out
}

// lay builds a layout straight on SPDK (not through the agent).
type lay struct {
	t    testing.TB
	n    *node
	real bool
	dir  string
}

// try makes one call on SPDK's own socket.
func (l *lay) try(method, params string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), advSetupTimeout)
	defer cancel()
	var p json.RawMessage
	if params != "" {
		p = json.RawMessage(params)
	}
	return l.n.spdk.CallRaw(ctx, method, p)
}

// call is try that fails the test on an error.
func (l *lay) call(method, params string) json.RawMessage {
	l.t.Helper()
	r, err := l.try(method, params)
	if err != nil {
		l.t.Fatalf("layout: %s %s: %v", method, params, err)
	}
	return r
}

// jobj renders key/value pairs as a JSON object, in order (values are
// strings, ints, bools or raw JSON).
func jobj(kv ...any) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv[i])
		b.Write(k)
		b.WriteByte(':')
		if raw, ok := kv[i+1].(json.RawMessage); ok {
			b.Write(raw)
			continue
		}
		v, _ := json.Marshal(kv[i+1])
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

const advMiB = 1 << 20

func (l *lay) malloc(name string, sizeMiB int) {
	l.t.Helper()
	l.call("bdev_malloc_create", jobj("name", name, "num_blocks", sizeMiB*advMiB/512, "block_size", 512))
}

// aio makes an aio bdev on a new file of the test's directory.
func (l *lay) aio(name string, sizeMiB int) string {
	l.t.Helper()
	f := filepath.Join(l.dir, name+".img")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		l.t.Fatal(err)
	}
	if err := os.Truncate(f, int64(sizeMiB)*advMiB); err != nil {
		l.t.Fatal(err)
	}
	l.call("bdev_aio_create", jobj("name", name, "filename", f, "block_size", 512))
	return f
}

func (l *lay) lvs(bdev, name string) {
	l.t.Helper()
	l.call("bdev_lvol_create_lvstore", jobj("bdev_name", bdev, "lvs_name", name, "cluster_sz", advMiB))
}

// lvol makes a thin lvol.
func (l *lay) lvol(lvs, name string, sizeMiB int) {
	l.t.Helper()
	l.call("bdev_lvol_create", jobj("lvol_name", name, "size_in_mib", sizeMiB, "lvs_name", lvs, "thin_provision", true))
}

// thick makes a thick lvol (its clusters allocated).
func (l *lay) thick(lvs, name string, sizeMiB int) {
	l.t.Helper()
	l.call("bdev_lvol_create", jobj("lvol_name", name, "size_in_mib", sizeMiB, "lvs_name", lvs))
}

func (l *lay) snap(alias, name string) {
	l.t.Helper()
	l.call("bdev_lvol_snapshot", jobj("lvol_name", alias, "snapshot_name", name))
}

func (l *lay) clone(snap, name string) {
	l.t.Helper()
	l.call("bdev_lvol_clone", jobj("snapshot_name", snap, "clone_name", name))
}

// esnap makes an esnap clone of bdev in lvs.
func (l *lay) esnap(bdev, lvs, name string) {
	l.t.Helper()
	l.call("bdev_lvol_clone_bdev", jobj("bdev", bdev, "lvs_name", lvs, "clone_name", name))
}

func (l *lay) setParentBdev(lvol, bdev string) {
	l.t.Helper()
	l.call("bdev_lvol_set_parent_bdev", jobj("lvol_name", lvol, "parent_name", bdev))
}

func (l *lay) del(name string) {
	l.t.Helper()
	l.call("bdev_lvol_delete", jobj("name", name))
}

// uuid returns the UUID of the bdev SPDK finds by name (an lvol's is its
// lvol UUID).
func (l *lay) uuid(name string) string {
	l.t.Helper()
	var bs []struct {
		UUID string `json:"uuid"`
	}
	if err := json.Unmarshal(l.call("bdev_get_bdevs", jobj("name", name)), &bs); err != nil || len(bs) != 1 {
		l.t.Fatalf("layout: bdev_get_bdevs %s: %v %d", name, err, len(bs))
	}
	return bs[0].UUID
}

// lvsUUID returns an lvstore's UUID.
func (l *lay) lvsUUID(name string) string {
	l.t.Helper()
	var ls []spdkrpc.Lvstore
	if err := json.Unmarshal(l.call("bdev_lvol_get_lvstores", jobj("lvs_name", name)), &ls); err != nil || len(ls) != 1 {
		l.t.Fatalf("layout: bdev_lvol_get_lvstores %s: %v", name, err)
	}
	return string(ls[0].UUID)
}

// via calls through the agent, bounded by the attack deadline.
func (n *node) viaCall(method, params string, timeout time.Duration) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var p json.RawMessage
	if params != "" {
		p = json.RawMessage(params)
	}
	return n.via.CallRaw(ctx, method, p)
}

// advLvol is one lvol as SPDK reports it.
type advLvol struct {
	Alias     string   // lvstore/lvol, from bdev_lvol_get_lvols
	BdevAlias string   // the bdev's alias, from bdev_get_bdevs (a failed rename moves it)
	Lvs       string   // lvstore UUID
	Chain     []string // ancestry, parent first: lvol UUIDs, then "bdev:NAME" for an external one
	Blocks    uint64
	Clusters  uint64
	Degraded  bool
	Snapshot  bool
}

// advTruth is SPDK's own account of the node, keyed by UUID so that
// renames do not hide what they changed.
type advTruth struct {
	lvols    map[string]advLvol // by lvol UUID
	lvstores map[string]string  // UUID -> "name on base"
	bdevs    map[string]string  // every bdev that is not an lvol: name -> product
}

// name is how messages show a chain element.
func (tr advTruth) name(id string) string {
	if l, ok := tr.lvols[id]; ok {
		return l.Alias
	}
	return id
}

func (tr advTruth) names(chain []string) []string {
	out := make([]string, len(chain))
	for i, id := range chain {
		out[i] = tr.name(id)
	}
	return out
}

// byAlias returns the UUID of the lvol with this lvol or bdev alias.
func (tr advTruth) byAlias(alias string) (string, bool) {
	for id, l := range tr.lvols {
		if l.Alias == alias || l.BdevAlias == alias {
			return id, true
		}
	}
	return "", false
}

// advTruthBdev is what advReadTruth reads of a bdev.
type advTruthBdev struct {
	Name           string   `json:"name"`
	Aliases        []string `json:"aliases"`
	UUID           string   `json:"uuid"`
	ProductName    string   `json:"product_name"`
	NumBlocks      uint64   `json:"num_blocks"`
	DriverSpecific struct {
		Lvol *struct {
			LvolStoreUUID        string `json:"lvol_store_uuid"`
			BaseSnapshot         string `json:"base_snapshot"`
			EsnapClone           bool   `json:"esnap_clone"`
			ExternalSnapshotName string `json:"external_snapshot_name"`
			NumAllocatedClusters uint64 `json:"num_allocated_clusters"`
		} `json:"lvol"`
	} `json:"driver_specific"`
}

// advReadTruth reads SPDK's truth, each call bounded: an error means the
// target did not answer (hung, dead, or its listing is not JSON).
func advReadTruth(c *spdkrpc.Client) (advTruth, error) {
	tr := advTruth{lvols: map[string]advLvol{}, lvstores: map[string]string{}, bdevs: map[string]string{}}
	var (
		stores []spdkrpc.Lvstore
		lvols  []struct {
			Alias      string `json:"alias"`
			UUID       string `json:"uuid"`
			Name       string `json:"name"`
			IsDegraded bool   `json:"is_degraded"`
			IsSnapshot bool   `json:"is_snapshot"`
			Clusters   uint64 `json:"num_allocated_clusters"`
			Lvs        struct {
				UUID string `json:"uuid"`
			} `json:"lvs"`
		}
		bdevs []advTruthBdev
	)
	for _, q := range []struct {
		method string
		out    any
	}{{"bdev_lvol_get_lvstores", &stores}, {"bdev_lvol_get_lvols", &lvols}, {"bdev_get_bdevs", &bdevs}} {
		ctx, cancel := context.WithTimeout(context.Background(), advProbeTimeout)
		err := c.Call(ctx, q.method, nil, q.out)
		cancel()
		if err != nil {
			return tr, err
		}
	}
	for _, s := range stores {
		tr.lvstores[string(s.UUID)] = fmt.Sprintf("%s on %s", s.Name, s.BaseBdev)
	}
	byName := map[string]string{} // lvstore UUID + "/" + lvol name -> lvol UUID
	for _, l := range lvols {
		byName[l.Lvs.UUID+"/"+l.Name] = l.UUID
		tr.lvols[l.UUID] = advLvol{Alias: l.Alias, Lvs: l.Lvs.UUID, Clusters: l.Clusters, Degraded: l.IsDegraded, Snapshot: l.IsSnapshot}
	}
	attackByUUID := map[string]advTruthBdev{}
	for _, b := range bdevs {
		attackByUUID[b.UUID] = b
	}
	parent := map[string]string{}
	for _, b := range bdevs {
		d := b.DriverSpecific.Lvol
		if d == nil {
			tr.bdevs[b.Name] = b.ProductName
			continue
		}
		l := tr.lvols[b.UUID]
		l.Lvs = d.LvolStoreUUID
		if len(b.Aliases) > 0 {
			l.BdevAlias = b.Aliases[0]
		}
		l.Blocks, l.Clusters = b.NumBlocks, d.NumAllocatedClusters
		tr.lvols[b.UUID] = l
		switch {
		case d.BaseSnapshot != "":
			p, ok := byName[d.LvolStoreUUID+"/"+d.BaseSnapshot]
			if !ok {
				p = "missing:" + d.BaseSnapshot
			}
			parent[b.UUID] = p
		case d.EsnapClone:
			p, ok := attackByUUID[d.ExternalSnapshotName]
			switch {
			case !ok:
				parent[b.UUID] = "missing:" + d.ExternalSnapshotName
			case p.DriverSpecific.Lvol != nil:
				parent[b.UUID] = p.UUID
			default:
				parent[b.UUID] = "bdev:" + p.Name
			}
		}
	}
	for id, l := range tr.lvols {
		l.Chain = nil
		seen := map[string]bool{id: true}
		for p, ok := parent[id]; ok; p, ok = parent[p] {
			if seen[p] {
				l.Chain = append(l.Chain, "cycle:"+p)
				break
			}
			seen[p] = true
			l.Chain = append(l.Chain, p)
		}
		tr.lvols[id] = l
	}
	return tr, nil
}

// advAlive probes the target after an attack: the process (on a real
// target), spdk_get_version and every listing, each within its deadline,
// and returns the truth it read. When the target is dead or wedged it
// fails t and returns false.
func (n *node) advAlive(t testing.TB, after string) (advTruth, bool) {
	t.Helper()
	if n.tgt != nil && !n.tgt.Alive() {
		t.Errorf("spdk_tgt died %s; its log ends:\n%s", after, n.logEnd())
		return advTruth{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), advProbeTimeout)
	err := n.spdk.Call(ctx, "spdk_get_version", nil, nil)
	cancel()
	var tr advTruth
	if err == nil {
		tr, err = advReadTruth(n.spdk)
	}
	if err != nil {
		msg := ""
		if n.tgt != nil {
			if !n.tgt.Alive() {
				msg = " (the process died)"
			}
			msg += "; its log ends:\n" + n.logEnd()
		}
		t.Errorf("SPDK does not answer %s: %v%s", after, err, msg)
		return tr, false
	}
	return tr, true
}

// logEnd is the last lines of a real target's log (it spans restarts).
func (n *node) logEnd() string {
	lines := strings.Split(n.tgt.LogTail(), "\n")
	return strings.Join(lines[max(0, len(lines)-8):], "\n")
}

// restartIfReal replaces a real target that an attack left dead, wedged
// or holding a call it will never answer, so that the next test gets a
// clean one (the shared target's Reset would also notice, later).
func (n *node) restartIfReal(t testing.TB) {
	t.Helper()
	if n.tgt == nil {
		return
	}
	// Killed first: a spinning reactor never handles the SIGTERM a
	// restart sends, and would cost its 5 s grace.
	n.tgt.Kill()
	if err := n.tgt.Restart(context.Background()); err != nil {
		t.Fatalf("restart spdk_tgt: %v", err)
	}
}

// truthOrFail reads the truth, failing the test when SPDK does not answer.
func (n *node) truthOrFail(t testing.TB) advTruth {
	t.Helper()
	tr, err := advReadTruth(n.spdk)
	if err != nil {
		t.Fatalf("reading SPDK's state: %v", err)
	}
	return tr
}

// advSpare is what a call may change without failing the comparison: its
// own volume's lvols (by UUID) and bdevs, lvstores it may remove, and the
// lvstore renames it makes.
type advSpare struct {
	lvols   map[string]bool // lvol UUIDs, or bdev names
	lvsGone map[string]bool // lvstore names
	renames map[string]string
}

// renamed returns an alias as it must read after the call's lvstore
// renames.
func (s advSpare) renamed(alias string) string {
	lvs, name, ok := strings.Cut(alias, "/")
	if to, hit := s.renames[lvs]; ok && hit {
		return to + "/" + name
	}
	return alias
}

// advCompareTruth fails t for every difference between before and after that
// the call may not cause: another lvol's chain (see oldOnly), size,
// allocation, alias or health; an lvstore or a bdev gone or changed.
func advCompareTruth(t testing.TB, before, after advTruth, spare advSpare) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(before.lvstores)) {
		was := before.lvstores[id]
		name, base, _ := strings.Cut(was, " on ")
		if spare.lvsGone[name] {
			continue
		}
		if to, ok := spare.renames[name]; ok {
			was = to + " on " + base
		}
		if got, ok := after.lvstores[id]; !ok {
			t.Errorf("lvstore %s (%s) is gone", name, id)
		} else if got != was {
			t.Errorf("lvstore %s changed: %q -> %q", id, was, got)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(before.lvols)) {
		if spare.lvols[id] {
			continue
		}
		b := before.lvols[id]
		a, ok := after.lvols[id]
		if !ok {
			t.Errorf("lvol %s (%s) is gone", b.Alias, id)
			continue
		}
		if want := spare.renamed(b.Alias); a.Alias != want {
			t.Errorf("lvol %s is now called %s", want, a.Alias)
		}
		if want := spare.renamed(b.BdevAlias); a.BdevAlias != want {
			t.Errorf("lvol %s's bdev alias changed: %q -> %q", b.Alias, want, a.BdevAlias)
		}
		if !slices.Equal(after.oldOnly(a.Chain, before), b.Chain) {
			t.Errorf("lvol %s's chain changed: %v -> %v", b.Alias, before.names(b.Chain), after.names(a.Chain))
		}
		if a.Blocks != b.Blocks || a.Clusters != b.Clusters || a.Degraded != b.Degraded {
			t.Errorf("lvol %s changed: %d blocks, %d clusters, degraded %v -> %d, %d, %v",
				b.Alias, b.Blocks, b.Clusters, b.Degraded, a.Blocks, a.Clusters, a.Degraded)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(before.bdevs)) {
		if _, ok := after.bdevs[name]; !ok && !spare.lvols[name] {
			t.Errorf("bdev %s (%s) is gone", name, before.bdevs[name])
		}
	}
}

// oldOnly drops from an ancestry the lvols that did not exist before: a
// call may put a new lvol (the snapshot it took) into other lvols'
// ancestry, but may not remove, replace or reorder what they read from.
func (tr advTruth) oldOnly(chain []string, before advTruth) []string {
	var out []string
	for _, id := range chain {
		if _, now := tr.lvols[id]; now {
			if _, was := before.lvols[id]; !was {
				continue
			}
		}
		out = append(out, id)
	}
	return out
}

// settle waits (at most 5 s) until the agent's graph counts what SPDK
// holds, so that a case's attack meets an agent that has seen its layout
// through SPDK's notifications; changes SPDK does not announce come after.
func (n *node) settle(t testing.TB) {
	t.Helper()
	var stores, lvols []json.RawMessage
	for _, q := range []struct {
		method string
		out    *[]json.RawMessage
	}{{"bdev_lvol_get_lvstores", &stores}, {"bdev_lvol_get_lvols", &lvols}} {
		ctx, cancel := context.WithTimeout(context.Background(), advProbeTimeout)
		err := n.spdk.Call(ctx, q.method, nil, q.out)
		cancel()
		if err != nil {
			t.Fatalf("layout: %s: %v", q.method, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st Status
		err := n.via.Call(context.Background(), "agent_get_status", nil, &st)
		if err == nil && st.Graph.Lvstores == len(stores) && st.Graph.Lvols == len(lvols) {
			return
		}
		if time.Now().After(deadline) {
			t.Logf("the agent's graph never matched SPDK's %d lvstores and %d lvols (last %+v, %v); attacking anyway",
				len(stores), len(lvols), st.Graph, err)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startAdvNode starts an agent in front of an empty target.
func startAdvNode(t *testing.T, real bool, edit func(*Config)) *node {
	t.Helper()
	return startNode(t, nodeOpts{real: real, noDemo: true, edit: func(c *Config) {
		// A call the agent let through and SPDK never answers must not hold
		// the test's clean-up for the default 20 s.
		c.ShutdownTimeout = time.Second
		if edit != nil {
			edit(c)
		}
	}})
}
