package agent

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// ViewStatus says how far an answer built from the graph can be trusted, in
// the answers of agent_get_graph and agent_get_lvols: whether SPDK is
// connected, whether the graph holds every expected lvstore and how old its
// last confirmed read is, plus what needs an operator's eye (anomalies,
// orphan lvols). Warnings holds one sentence per reason the answer may be
// out of date or wrong; it is empty when the answer is current.
type ViewStatus struct {
	SPDKConnected bool             `json:"spdk_connected"`
	Synced        bool             `json:"synced"`
	Complete      bool             `json:"complete"`
	Missing       []string         `json:"missing_lvstores,omitempty"`
	Stale         bool             `json:"stale"`
	ConfirmedAt   time.Time        `json:"confirmed_at"`
	AgeSeconds    float64          `json:"age_seconds"`
	Anomalies     int              `json:"anomalies"`
	Orphans       []LvstoreOrphans `json:"orphans,omitempty"`
	Warnings      []string         `json:"warnings,omitempty"`
}

// LvstoreOrphans are the orphan lvols of one lvstore: lvols no replica owns
// any more (lvolgraph.Graph.Orphans).
type LvstoreOrphans struct {
	Lvstore     spdkrpc.LvstoreUUID `json:"lvstore"`
	LvstoreName spdkrpc.LvstoreName `json:"lvstore_name"`
	Count       int                 `json:"count"`
	Aliases     []spdkrpc.LvolAlias `json:"aliases"`
}

// freshness is what the follower knows about its connection and reads,
// besides the snapshot: the inputs of viewStatus.
type freshness struct {
	connected   bool
	confirmedAt time.Time
	maxAge      time.Duration
	now         time.Time
}

// freshness returns the agent's current freshness inputs.
func (a *Agent) freshness() freshness {
	return freshness{
		connected:   a.follower.connected.Load(),
		confirmedAt: a.follower.confirmedAt(),
		maxAge:      a.cfg.MaxGraphAge,
		now:         time.Now(),
	}
}

// viewStatus describes how far snap can be trusted, for an answer limited
// to one lvstore unless only is nil. Missing lvstores concern every answer:
// an lvol may be on one of them.
func viewStatus(snap *Snapshot, only *lvolgraph.Lvstore, f freshness) ViewStatus {
	age := f.now.Sub(f.confirmedAt)
	st := ViewStatus{
		SPDKConnected: f.connected,
		Synced:        snap.Synced,
		Complete:      snap.Complete(),
		Missing:       snap.Missing,
		Stale:         f.confirmedAt.IsZero() || age > f.maxAge || snap.Restored,
		ConfirmedAt:   f.confirmedAt.UTC(),
		AgeSeconds:    age.Seconds(),
	}
	g := snap.Graph
	var anomalies []lvolgraph.Anomaly
	for _, s := range g.Lvstores() {
		if only != nil && s.UUID != only.UUID {
			continue
		}
		anomalies = append(anomalies, g.LvstoreAnomalies(s.UUID)...)
		var o LvstoreOrphans
		for _, l := range g.Orphans(s.UUID, lvolgraph.DefaultOwnership) {
			o.Aliases = append(o.Aliases, l.Alias)
		}
		if len(o.Aliases) > 0 {
			o.Lvstore, o.LvstoreName, o.Count = s.UUID, s.Name, len(o.Aliases)
			st.Orphans = append(st.Orphans, o)
		}
	}
	st.Anomalies = len(anomalies)
	if !f.connected {
		st.Warnings = append(st.Warnings, "SPDK is not connected: this is the last graph read")
	}
	switch {
	case snap.Restored:
		st.Warnings = append(st.Warnings, fmt.Sprintf("graph saved by the agent's last run, read %s: SPDK not read since the agent started", snap.ReadAt.UTC().Format(time.RFC3339)))
	case !st.Synced:
		st.Warnings = append(st.Warnings, "SPDK not read since it reconnected: this graph is from before")
	case !st.Complete:
		st.Warnings = append(st.Warnings, "graph incomplete, expected lvstores missing: "+strings.Join(st.Missing, ", "))
	}
	if st.Stale && !snap.Restored {
		if f.confirmedAt.IsZero() {
			st.Warnings = append(st.Warnings, "graph stale: never confirmed")
		} else {
			st.Warnings = append(st.Warnings, fmt.Sprintf("graph stale: confirmed %s ago (max %s)", age.Round(100*time.Millisecond), f.maxAge))
		}
	}
	if st.Anomalies > 0 {
		st.Warnings = append(st.Warnings, fmt.Sprintf("%s: SPDK's listings contradict each other (spdk-agent status)", count(st.Anomalies, "anomaly", "anomalies")))
	}
	return st
}

// RenderWarning writes the one-line warning header of human output: why
// what follows may be out of date or wrong. Nothing when it is current.
func RenderWarning(w io.Writer, st ViewStatus) {
	if len(st.Warnings) > 0 {
		fmt.Fprintf(w, "WARNING: %s\n", strings.Join(st.Warnings, "; "))
	}
}

// RenderOrphans writes one line per lvstore with orphan lvols, with prefix
// before each.
func RenderOrphans(w io.Writer, prefix string, orphans []LvstoreOrphans) {
	for _, o := range orphans {
		names := make([]string, len(o.Aliases))
		for i, a := range o.Aliases {
			_, n, _ := a.Split()
			names[i] = string(n)
		}
		fmt.Fprintf(w, "%s%s: %s: %s\n", prefix, o.LvstoreName, count(o.Count, "orphan lvol", "orphan lvols"), strings.Join(names, ", "))
	}
}
