package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/health"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// scriptedIostat answers GetIostat from a list of answers, one per call;
// the last one repeats.
type scriptedIostat struct {
	mu      sync.Mutex
	answers []iostatAnswer
	calls   int
}

type iostatAnswer struct {
	io  *spdkrpc.Iostat
	err error
}

func (s *scriptedIostat) GetIostat(context.Context, ...spdkrpc.BdevRef) (*spdkrpc.Iostat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.answers[min(s.calls, len(s.answers)-1)]
	s.calls++
	return a.io, a.err
}

func bdevNames(io *health.IOStat) []string {
	if io == nil {
		return nil
	}
	var out []string
	for _, b := range io.Bdevs {
		out = append(out, b.Name)
	}
	return out
}

func TestIOStatPoller_keepsLastAnswerUntilBdevGone(t *testing.T) {
	both := &spdkrpc.Iostat{TickRate: 1000, Bdevs: []spdkrpc.BdevIostat{
		{Name: "b", BytesRead: 4096, NumReadOps: 1, ReadLatencyTicks: 500},
		{Name: "a", BytesWritten: 8192, NumWriteOps: 2},
	}}
	onlyA := &spdkrpc.Iostat{TickRate: 1000, Bdevs: []spdkrpc.BdevIostat{{Name: "a", BytesWritten: 12288, NumWriteOps: 3}}}
	src := &scriptedIostat{answers: []iostatAnswer{{io: both}, {err: spdkrpc.ErrDisconnected}, {io: onlyA}}}
	p := newIOStatPoller(src, everyBdev, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if p.current() != nil {
		t.Fatal("answer before any read")
	}
	for _, step := range []struct {
		name      string
		wantBdevs []string
		wantA     uint64 // bytes written on a
	}{
		{"first answer, sorted by name", []string{"a", "b"}, 8192},
		{"SPDK down keeps the last answer", []string{"a", "b"}, 8192},
		{"bdev b gone from a successful answer", []string{"a"}, 12288},
	} {
		p.read(context.Background())
		got := p.current()
		if names := bdevNames(got); !slices.Equal(names, step.wantBdevs) {
			t.Fatalf("%s: bdevs %v, want %v", step.name, names, step.wantBdevs)
		}
		if got.Bdevs[0].BytesWritten != step.wantA || got.TickRate != 1000 {
			t.Errorf("%s: a = %+v (tick rate %d)", step.name, got.Bdevs[0], got.TickRate)
		}
	}
}

func TestIOStatPoller_readsOnTriggerAndInterval(t *testing.T) {
	src := &scriptedIostat{answers: []iostatAnswer{{io: &spdkrpc.Iostat{TickRate: 1}}}}
	for _, tc := range []struct {
		name    string
		every   time.Duration
		trigger bool
	}{
		{"full sync trigger", time.Hour, true},
		{"interval", 5 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newIOStatPoller(src, everyBdev, tc.every, slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { p.run(ctx) })
			defer func() { cancel(); wg.Wait() }()
			if tc.trigger {
				hook := p.afterFullSync(nil)
				hook("targeted", 0, nil)
				hook("full", 0, errors.New("read failed"))
				time.Sleep(20 * time.Millisecond)
				if p.current() != nil {
					t.Fatal("a targeted refresh or a failed full sync triggered a read")
				}
				hook("full", 0, nil)
			}
			deadline := time.Now().Add(5 * time.Second)
			for p.current() == nil {
				if time.Now().After(deadline) {
					t.Fatal("no read")
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestIOStat_metricsFollowSimulator checks that the demo node's bdevs get
// I/O counters on /metrics once the agent has synced, and that a bdev
// deleted in SPDK loses them after the next read (an lvol's: per-lvol
// metrics are on).
func TestIOStat_metricsFollowSimulator(t *testing.T) {
	n := startNode(t, nodeOpts{health: true, edit: func(c *Config) { c.PerLvolMetrics = true }})
	bdevs, err := n.spdk.GetBdevs(context.Background(), spdkrpc.GetBdevsParams{Name: spdkrpc.BdevRef(n.demo.Expired)})
	if err != nil || len(bdevs) != 1 {
		t.Fatalf("bdev_get_bdevs %s: %v %v", n.demo.Expired, bdevs, err)
	}
	expired := string(bdevs[0].Name)
	series := func(bdev string) string {
		return `spdk_agent_bdev_io_operations_total{bdev="` + bdev + `",op="write"}`
	}
	waitMetrics := func(what string, cond func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, m := n.get(t, "/metrics")
			if cond(m) {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; /metrics:\n%s", what, m)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	m := waitMetrics("I/O counters", func(m string) bool { return strings.Contains(m, series(expired)) })
	for _, want := range []string{
		series("Malloc0"),
		`spdk_agent_bdev_io_bytes_total{bdev="aio0",op="read"}`,
		`spdk_agent_bdev_io_time_seconds_total{bdev="Malloc0",op="unmap"}`,
		"# TYPE spdk_agent_bdev_io_bytes_total counter",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := n.spdk.DeleteLvol(context.Background(), spdkrpc.LvolRef(n.demo.Expired)); err != nil {
		t.Fatal(err)
	}
	n.agent.iostat.trigger()
	waitMetrics("the deleted bdev's counters to go", func(m string) bool { return !strings.Contains(m, series(expired)) })
	if _, m := n.get(t, "/metrics"); !strings.Contains(m, series("Malloc0")) {
		t.Error("the other bdevs' counters went too")
	}
}

// Without per-lvol metrics the poller reads, and the metrics export, the
// counters of the bdevs that are not lvols only: their number does not grow
// with the lvols. With them, every bdev's.
func TestIOStat_lvolsOnlyWithPerLvolMetrics(t *testing.T) {
	for _, perLvol := range []bool{false, true} {
		n := startNode(t, nodeOpts{edit: func(c *Config) { c.PerLvolMetrics = perLvol; c.IOStatInterval = time.Hour }})
		n.agent.iostat.trigger()
		var got []string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if got = bdevNames(n.agent.iostat.current()); len(got) > 0 || time.Now().After(deadline) {
				break
			}
		}
		g := n.agent.follower.current().Graph
		var want []string
		for _, b := range g.Bdevs() {
			want = append(want, string(b.Name))
		}
		if perLvol {
			for _, s := range g.Lvstores() {
				for _, l := range g.Lvols(s.UUID) {
					want = append(want, string(l.UUID))
				}
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("per-lvol metrics %v: counters of %v, want %v", perLvol, got, want)
		}
	}
}
