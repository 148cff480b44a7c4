package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// lastGraphFileName holds, in the state directory, SPDK's listings of the
// last complete full sync. A restarted agent serves the graph built from
// them, marked stale, until SPDK answers again: restarting the agent must
// not lose what it knew. Decisions never use it (the guard reads SPDK).
const lastGraphFileName = "last-graph.json"

// savedGraph is the file's content: the three listings a graph is built
// from, as SPDK answered them.
type savedGraph struct {
	ReadAt   time.Time         `json:"read_at"`
	Lvstores []spdkrpc.Lvstore `json:"lvstores"`
	Lvols    []spdkrpc.Lvol    `json:"lvols"`
	Bdevs    []spdkrpc.Bdev    `json:"bdevs"`
}

// saveLastGraph writes the listings of a complete full sync read at readAt.
func saveLastGraph(path string, st fullState, readAt time.Time) error {
	b, err := json.Marshal(savedGraph{ReadAt: readAt.UTC(), Lvstores: st.Lvstores, Lvols: st.Lvols, Bdevs: st.Bdevs})
	if err != nil {
		return fmt.Errorf("agent: encode last graph: %w", err)
	}
	return writeFileAtomic(path, b, 0o640)
}

// parseSavedGraph decodes the file's content.
func parseSavedGraph(b []byte) (savedGraph, error) {
	var sg savedGraph
	if err := json.Unmarshal(b, &sg); err != nil {
		return savedGraph{}, err
	}
	if sg.ReadAt.IsZero() {
		return savedGraph{}, errors.New("no read_at")
	}
	return sg, nil
}

// loadLastGraph returns the snapshot restored from path, or nil when there
// is none. A damaged file is reported and ignored: it is a cache of what
// SPDK will say again, not state of its own.
func loadLastGraph(path string) (*Snapshot, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: read last graph: %w", err)
	}
	sg, err := parseSavedGraph(b)
	if err != nil {
		return nil, fmt.Errorf("agent: last graph %s: %w", path, err)
	}
	g := lvolgraph.Build(1, sg.ReadAt, lvolgraph.Inputs{Lvstores: sg.Lvstores, Lvols: sg.Lvols, Bdevs: sg.Bdevs})
	return &Snapshot{Graph: g, ReadAt: sg.ReadAt, FullSyncAt: sg.ReadAt, Restored: true}, nil
}
