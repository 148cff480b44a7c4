package health

import (
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricNames returns the name of every metric family the agent exports
// (histograms by their family name, without _bucket, _sum or _count),
// sorted. It is computed from the metrics themselves, so it cannot drift
// from what /metrics serves.
func MetricNames() []string {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, BuildInfo{Version: "v", GoVersion: "go", Revision: "r"})
	touchAll(m)
	if err := RegisterCollectors(reg, StateFunc(fullState), CollectorOptions{PerLvol: true}); err != nil {
		panic("health: registering collectors on a fresh registry: " + err.Error())
	}
	mfs, err := reg.Gather()
	if err != nil {
		panic("health: gathering the sample state: " + err.Error())
	}
	names := make([]string, 0, len(mfs))
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	sort.Strings(names)
	return names
}

// touchAll creates one series of every labelled metric of m.
func touchAll(m *Metrics) {
	m.ObserveRPC("bdev_get_bdevs", time.Millisecond, "timeout")
	m.Reconnected()
	m.SetSPDKUp(true, "SPDK v26.05")
	m.NotificationsProcessed(1)
	m.GraphSynced(SyncFull)
	m.GuardDecision("bdev_lvol_delete", "refuse", "backing_image")
	m.CleanupStep(CleanupDeleted)
	m.AuditRecord()
}

// fullState is a state with every optional part present.
func fullState() NodeState {
	return NodeState{
		Generation: 1,
		Complete:   true,
		SyncedAt:   time.Unix(1, 0),
		Lvstores:   []LvstoreState{{Name: "lvs0", UUID: "u"}},
		Lvols:      []LvolState{{Lvstore: "lvs0", Name: "vol", UUID: "u"}},
		IOStat:     &IOStat{TickRate: 1, Bdevs: []BdevIOStat{{Name: "b"}}},
		Disks:      &DiskState{ByState: map[string]int{"ok": 1}, Registry: "kube", RegistrySynced: true, RegistryDisks: 1},
	}
}
