package difftest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// Config is one differential run.
type Config struct {
	Seed  int64
	Steps int
	// Real is the socket of a freshly started spdk_tgt.
	Real string
	// Dir holds the simulator's socket and both sides' aio files.
	Dir string
	// StateEvery compares the whole state every that many steps
	// (default 1: after every step).
	StateEvery int
	// Timeout bounds each reply (default 5 s): a call past it hangs.
	Timeout time.Duration
	// Script, when set, is sent instead of the seed's random steps (a
	// replay of Result.Sent, or a part of it).
	Script []Step
	// History is how many steps before a difference it shows (default
	// 12; negative: all).
	History int
}

// Result is what a run found.
type Result struct {
	Steps       int // steps made (up to and including a differing one)
	StateChecks int
	Diff        *Diff // the first difference; nil when none
	Elapsed     time.Duration
	// Sent is every step sent, in order.
	Sent []Step
}

// Diff is the first step at which the two sides differ.
type Diff struct {
	Seed            int64
	Step            int
	Request         Step
	SimReq, RealReq string // as sent, tokens filled in
	// Sim and Real are the normalized replies, or, for a state
	// difference, the first differing listing element.
	Sim, Real string
	State     string // which listing differs; "" for a reply
	History   []string
	// Before is the simulator's state before the step (its three
	// listings, normalized), for a closer look.
	Before []string
}

func (d *Diff) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: step %d differs", d.Seed, d.Step)
	if d.State != "" {
		fmt.Fprintf(&b, " in state (%s)", d.State)
	}
	fmt.Fprintf(&b, "\n  request:  %s\n  sim sent: %s\n  spdk sent: %s\n  sim:  %s\n  spdk: %s\n", d.Request, d.SimReq, d.RealReq, d.Sim, d.Real)
	if len(d.History) > 0 {
		b.WriteString("  steps before (normalized request => spdk reply):\n")
		for _, h := range d.History {
			b.WriteString("    " + h + "\n")
		}
	}
	return b.String()
}

// side is one target under test with its normalizer.
type side struct {
	c *conn
	n *normalizer
}

func (s *side) do(st Step) (sent, reply string, err error) {
	sent = st.Method
	var params json.RawMessage
	if st.Params != nil {
		p, err := s.n.fill(string(st.Params))
		if err != nil {
			return "", "", err
		}
		params, sent = json.RawMessage(p), st.Method+" "+p
	}
	line, err := s.c.call(st.Method, params)
	if err != nil {
		return sent, "", err
	}
	reply, err = s.n.reply(line)
	return sent, reply, err
}

// settle waits, after a shallow copy was started, until SPDK has finished
// it and released its destination: the copy runs in the background on a
// real target and at once in the simulator, and the state compared next
// must not depend on how far it got.
func (s *side) settle(sent, reply string, timeout time.Duration) error {
	if !strings.HasPrefix(sent, "bdev_lvol_start_shallow_copy ") || !strings.Contains(reply, "operation_id") {
		return nil
	}
	var p struct {
		Dst string `json:"dst_bdev_name"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(sent, "bdev_lvol_start_shallow_copy ")), &p); err != nil {
		return fmt.Errorf("difftest: shallow copy params: %w", err)
	}
	q, _ := json.Marshal(map[string]string{"name": p.Dst})
	for end := time.Now().Add(timeout); ; time.Sleep(5 * time.Millisecond) {
		line, err := s.c.call("bdev_get_bdevs", q)
		if err != nil {
			return err
		}
		norm, err := s.n.reply(line)
		if err != nil {
			return err
		}
		if !strings.Contains(norm, `"claimed":true`) {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("difftest: shallow copy to %s still running after %v", p.Dst, timeout)
		}
	}
}

var listings = []string{"bdev_get_bdevs", "bdev_lvol_get_lvstores", "bdev_lvol_get_lvols"}

// state returns the three normalized listings.
func (s *side) state() ([]string, error) {
	lines, err := s.c.callMany(listings...)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if out[i], err = s.n.reply(l); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Run drives a new simulator and the target at cfg.Real with seed's
// sequence and returns the first difference.
func Run(ctx context.Context, cfg Config) (Result, error) {
	start := time.Now()
	if cfg.StateEvery <= 0 {
		cfg.StateEvery = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.History == 0 {
		cfg.History = 12
	}
	simDir, realDir := filepath.Join(cfg.Dir, "sim"), filepath.Join(cfg.Dir, "spdk")
	for _, d := range []string{simDir, realDir} {
		if err := makeFiles(d); err != nil {
			return Result{}, err
		}
	}
	sim := spdksim.New(spdksim.Options{PollInterval: -1})
	sock := filepath.Join(cfg.Dir, "sim.sock")
	if err := sim.Start(ctx, sock); err != nil {
		return Result{}, err
	}
	defer sim.Close()
	sc, err := dial(ctx, sock, cfg.Timeout)
	if err != nil {
		return Result{}, err
	}
	defer sc.close()
	rc, err := dial(ctx, cfg.Real, cfg.Timeout)
	if err != nil {
		return Result{}, err
	}
	defer rc.close()
	sims, reals := &side{sc, newNormalizer(simDir)}, &side{rc, newNormalizer(realDir)}
	res, err := loop(ctx, cfg, sims, reals)
	res.Elapsed = time.Since(start)
	return res, err
}

func loop(ctx context.Context, cfg Config, sims, reals *side) (Result, error) {
	var res Result
	g := NewGenerator(cfg.Seed)
	var hist, before []string
	diff := func(i int, st Step, simSent, realSent, a, b, state string) (Result, error) {
		res.Diff = &Diff{Seed: cfg.Seed, Step: i, Request: st, SimReq: simSent, RealReq: realSent, Sim: a, Real: b, State: state, History: hist, Before: before}
		return res, nil
	}
	// Both sides read their state after each step, so that UUIDs are first
	// seen in the same order; it is compared every StateEvery steps.
	simState, err := sims.state()
	if err != nil {
		return res, fmt.Errorf("difftest: simulator state: %w", err)
	}
	if _, err := reals.state(); err != nil {
		return res, fmt.Errorf("difftest: spdk_tgt state: %w", err)
	}
	for i := 1; i <= cfg.Steps; i++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		before = simState
		v, err := parseView(simState[0], simState[1], simState[2])
		if err != nil {
			return res, fmt.Errorf("difftest: simulator state: %w", err)
		}
		v.wedged, v.readOnly, v.emptySplits = g.wedged, g.readOnly, g.emptySplits
		g.view = v
		var st Step
		if cfg.Script != nil {
			if i > len(cfg.Script) {
				break
			}
			st = cfg.Script[i-1]
		} else {
			st = g.Next()
		}
		res.Sent = append(res.Sent, st)
		res.Steps = i
		simSent, a, err := sims.do(st)
		if err != nil && !errors.Is(err, ErrNoReply) {
			return res, err
		}
		if err != nil {
			a = "no reply"
		}
		realSent, b, err := reals.do(st)
		if err != nil && !errors.Is(err, ErrNoReply) {
			return res, err
		}
		if err != nil {
			b = "no reply"
		}
		if a != b {
			return diff(i, st, simSent, realSent, a, b, "")
		}
		if err := reals.settle(realSent, b, cfg.Timeout); err != nil {
			return res, err
		}
		g.Learn(st, a)
		hist = append(hist, st.String()+" => "+b)
		if cfg.History >= 0 && len(hist) > cfg.History {
			hist = hist[1:]
		}
		if simState, err = sims.state(); err != nil {
			return res, fmt.Errorf("difftest: simulator state: %w", err)
		}
		realState, err := reals.state()
		if err != nil {
			return diff(i, st, simSent, realSent, a, "no reply to the state listings", "")
		}
		if i%cfg.StateEvery == 0 || i == cfg.Steps {
			res.StateChecks++
			if k, x, y, differ := firstStateDiff(simState, realState); differ {
				return diff(i, st, simSent, realSent, x, y, k)
			}
		}
	}
	return res, nil
}

// firstStateDiff finds the first listing, and in it the first element,
// that differs.
func firstStateDiff(a, b []string) (which, x, y string, differ bool) {
	for i := range listings {
		if a[i] == b[i] {
			continue
		}
		var ra, rb struct{ Result []json.RawMessage }
		_ = json.Unmarshal([]byte(a[i]), &ra)
		_ = json.Unmarshal([]byte(b[i]), &rb)
		for j := 0; j < max(len(ra.Result), len(rb.Result)); j++ {
			var ea, eb string
			if j < len(ra.Result) {
				ea = string(ra.Result[j])
			}
			if j < len(rb.Result) {
				eb = string(rb.Result[j])
			}
			if ea != eb {
				return fmt.Sprintf("%s, element %d", listings[i], j), orNone(ea), orNone(eb), true
			}
		}
		return listings[i], a[i], b[i], true
	}
	return "", "", "", false
}

func orNone(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// makeFiles creates one side's aio backing files, zeroed.
func makeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range aioFiles {
		p := filepath.Join(dir, f)
		_ = os.Remove(p)
		fh, err := os.Create(p)
		if err != nil {
			return err
		}
		err = fh.Truncate(AioFileBytes)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
