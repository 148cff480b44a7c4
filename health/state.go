package health

import "time"

// StateSource hands the collectors the node's current state at scrape time.
// The agent implements it by reading its current graph snapshot; it must be
// cheap and must not block on SPDK.
type StateSource interface {
	NodeState() NodeState
}

// StateFunc adapts a function to a StateSource.
type StateFunc func() NodeState

// NodeState implements StateSource.
func (f StateFunc) NodeState() NodeState { return f() }

// NodeState is a plain-data copy of what the agent knows about its node, as
// the collectors export it. Every scrape reads a fresh one, so an lvstore or
// lvol absent from it has no series at all (deleted lvols disappear).
type NodeState struct {
	// Generation counts the graph snapshots the agent has built.
	Generation uint64 `json:"generation"`
	// Complete is false while the graph lacks an answer it needs (for
	// example bdev_get_bdevs failed, or SPDK is still loading lvstores).
	Complete bool `json:"complete"`
	// SyncedAt is when the graph last matched SPDK; zero before the first
	// sync. Its age is computed at scrape time.
	SyncedAt time.Time `json:"synced_at"`

	Lvstores []LvstoreState `json:"lvstores,omitempty"`
	// Lvols is the per-lvol detail, exported only by a collector built with
	// CollectorOptions.PerLvol (one series per lvol).
	Lvols []LvolState `json:"lvols,omitempty"`
	// IOStat is SPDK's bdev_get_iostat answer; nil when not fetched.
	IOStat *IOStat `json:"iostat,omitempty"`
	// Disks is the disk identity state; nil when the agent manages none.
	Disks *DiskState `json:"disks,omitempty"`
}

// LvolCounts counts an lvstore's lvols by kind. A degraded lvol (its parent
// is missing) is counted as degraded only, whatever its kind.
type LvolCounts struct {
	Plain      int `json:"plain"`
	Snapshot   int `json:"snapshot"`
	Clone      int `json:"clone"`
	EsnapClone int `json:"esnap_clone"`
	Degraded   int `json:"degraded"`
}

// LvstoreState is one lvstore's capacity and the shape of its lvol graph.
type LvstoreState struct {
	Name string `json:"name"`
	UUID string `json:"uuid"`
	// TotalBytes is total_data_clusters * cluster_size.
	TotalBytes uint64 `json:"total_bytes"`
	// FreeBytes is free_clusters * cluster_size.
	FreeBytes uint64 `json:"free_bytes"`
	// ProvisionedBytes is the sum of the lvols' sizes: above TotalBytes
	// when thin lvols over-commit the store.
	ProvisionedBytes uint64 `json:"provisioned_bytes"`
	ClusterSize      uint64 `json:"cluster_size"`

	Lvols LvolCounts `json:"lvols"`
	// MaxChainDepth is the number of lvols in the longest ancestry chain
	// (a plain lvol is 1, a clone of a snapshot 2, ...).
	MaxChainDepth int `json:"max_chain_depth"`
	// Orphans are lvols owned by nobody under the ownership scheme, such as
	// snapshots left behind by a deleted replica (lvolgraph.Graph.Orphans).
	Orphans int `json:"orphans"`
	// Protected are lvols that may never be deleted because another
	// volume's chain is rooted in them (backing images).
	Protected int `json:"protected"`
}

// LvolState is one lvol's allocation.
type LvolState struct {
	Lvstore        string `json:"lvstore"`
	Name           string `json:"name"`
	UUID           string `json:"uuid"`
	AllocatedBytes uint64 `json:"allocated_bytes"`
}

// IOStat is the part of SPDK's bdev_get_iostat answer the metrics use. It is
// health's own type (the package knows nothing of SPDK's client); its JSON
// tags follow SPDK's names so that a NodeState reads like the answer.
type IOStat struct {
	// TickRate is SPDK's ticks per second: latency ticks / TickRate are
	// seconds.
	TickRate uint64       `json:"tick_rate"`
	Bdevs    []BdevIOStat `json:"bdevs"`
}

// BdevIOStat is one bdev's cumulative I/O counters since it was created.
type BdevIOStat struct {
	Name              string `json:"name"`
	BytesRead         uint64 `json:"bytes_read"`
	NumReadOps        uint64 `json:"num_read_ops"`
	BytesWritten      uint64 `json:"bytes_written"`
	NumWriteOps       uint64 `json:"num_write_ops"`
	BytesUnmapped     uint64 `json:"bytes_unmapped"`
	NumUnmapOps       uint64 `json:"num_unmap_ops"`
	ReadLatencyTicks  uint64 `json:"read_latency_ticks"`
	WriteLatencyTicks uint64 `json:"write_latency_ticks"`
	UnmapLatencyTicks uint64 `json:"unmap_latency_ticks"`
}

// DiskState is the disk identity bookkeeping.
type DiskState struct {
	// ByState counts disks by identity state: diskid's states "ok",
	// "failed" and "collision". The agent chooses the names.
	ByState map[string]int `json:"by_state,omitempty"`
	// Collisions is the number of disks whose short UUID prefix currently
	// collides with another known disk's.
	Collisions int `json:"collisions"`
	// Regenerations counts disk UUIDs regenerated since the agent started.
	Regenerations uint64 `json:"regenerations"`
	// RegistryUpdatesRejected counts cluster registry updates refused as
	// implausible (empty, unparsable, shrinking) since the agent started.
	RegistryUpdatesRejected uint64 `json:"registry_updates_rejected"`
	// Registry is where the cluster's disks are known from: "kube" (the
	// prefix claims), "file", or empty for none; RegistrySynced says the
	// view is current and RegistryDisks how many disks it lists.
	Registry       string `json:"registry,omitempty"`
	RegistrySynced bool   `json:"registry_synced,omitempty"`
	RegistryDisks  int    `json:"registry_disks,omitempty"`
}
