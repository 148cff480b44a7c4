package health

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// bigState is a node with 8 lvstores of 1000 lvols each and 8000 bdevs.
func bigState() NodeState {
	st := NodeState{Generation: 1, Complete: true, SyncedAt: time.Now(), IOStat: &IOStat{TickRate: 1e9}}
	for s := range 8 {
		name := fmt.Sprintf("lvs%d", s)
		st.Lvstores = append(st.Lvstores, LvstoreState{Name: name, UUID: fmt.Sprintf("uuid-%d", s), TotalBytes: 1 << 40})
		for l := range 1000 {
			lv := fmt.Sprintf("lvol%d", l)
			st.Lvols = append(st.Lvols, LvolState{Lvstore: name, Name: lv, UUID: name + lv, AllocatedBytes: 1 << 30})
			st.IOStat.Bdevs = append(st.IOStat.Bdevs, BdevIOStat{Name: name + "/" + lv, BytesRead: 1 << 20})
		}
	}
	return st
}

// BenchmarkGather_bigNode measures one scrape's collection of a large node
// with per-lvol metrics on.
func BenchmarkGather_bigNode(b *testing.B) {
	st := bigState()
	reg := prometheus.NewRegistry()
	touchAll(NewMetrics(reg, BuildInfo{}))
	if err := RegisterCollectors(reg, constState(st), CollectorOptions{PerLvol: true}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadyz measures one readiness request with four trivial checks:
// the fixed cost of a probe inside the agent.
func BenchmarkReadyz(b *testing.B) {
	s := NewServer(Options{Readyz: []Check{
		{Name: "spdk", Run: pass}, {Name: "graph", Run: pass},
		{Name: "disks", Run: pass}, {Name: "registry", Run: pass},
	}})
	h := s.Handler()
	req := httptest.NewRequest(http.MethodGet, "/readyz?verbose", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkObserveRPC measures the cost the agent pays per SPDK call.
func BenchmarkObserveRPC(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry(), BuildInfo{})
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRPC("bdev_get_bdevs", 8*time.Millisecond, "")
	}
}
