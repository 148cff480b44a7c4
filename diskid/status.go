package diskid

import (
	"slices"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Kind says where a disk's identity lives.
type Kind string

const (
	// KindFilesystem is a directory whose identity file the agent owns.
	KindFilesystem Kind = "filesystem"
	// KindLvstore is an lvstore whose UUID SPDK owns: it cannot be changed,
	// so its collisions are reported, never fixed.
	KindLvstore Kind = "lvstore"
)

// State summarises a disk's conditions.
type State string

const (
	StateOK        State = "ok"
	StateFailed    State = "failed"
	StateCollision State = "collision"
)

// ConditionType names something wrong with a disk. Each is a stable string
// that alerts and scripts can match.
type ConditionType string

const (
	// CondPrefixCollision: the disk's prefix equals another known disk's
	// and it was not (or could not be) regenerated.
	CondPrefixCollision ConditionType = "prefix-collision"
	// CondIdentityInvalid: the identity file is empty, truncated,
	// unparsable, a symlink, or holds a malformed UUID.
	CondIdentityInvalid ConditionType = "identity-invalid"
	// CondIdentityMissing: the directory holds no identity file (run
	// "disk init"), or it vanished after the agent had read it.
	CondIdentityMissing ConditionType = "identity-missing"
	// CondDiskMissing: the disk directory does not exist.
	CondDiskMissing ConditionType = "disk-missing"
	// CondDiskUnreadable: the disk directory exists but cannot be opened.
	CondDiskUnreadable ConditionType = "disk-unreadable"
	// CondUUIDInvalid: an lvstore's UUID is not a UUID.
	CondUUIDInvalid ConditionType = "uuid-invalid"
	// CondRegenerateFailed: an automatic regeneration was attempted and
	// failed; the disk keeps its old identity.
	CondRegenerateFailed ConditionType = "regenerate-failed"
	// CondClaimPending: the disk's prefix is not (yet) claimed in the
	// cluster; the disk is not usable until it is.
	CondClaimPending ConditionType = "claim-pending"
)

// Condition is one thing wrong with a disk, with a message for people.
type Condition struct {
	Type    ConditionType `json:"type"`
	Message string        `json:"message"`
}

// DiskStatus is a snapshot of one disk, as Manager.Disks returns it.
type DiskStatus struct {
	Kind Kind `json:"kind"`
	// Path is the directory of a filesystem disk.
	Path string `json:"path,omitempty"`
	// Lvstore is the name of an lvstore disk.
	Lvstore spdkrpc.LvstoreName `json:"lvstore,omitempty"`
	Name    string              `json:"name"`
	// UUID is empty when the identity could not be read.
	UUID       DiskUUID    `json:"uuid,omitempty"`
	Prefix     string      `json:"prefix,omitempty"`
	State      State       `json:"state"`
	Conditions []Condition `json:"conditions,omitempty"`
	// Claim is the state of the disk's prefix claim in the cluster (a
	// Claim* constant); empty outside a cluster.
	Claim string `json:"claim,omitempty"`
}

// key identifies the disk among all disks of the node.
func (s DiskStatus) key() string {
	if s.Kind == KindLvstore {
		return "lvstore:" + string(s.Lvstore)
	}
	return "path:" + s.Path
}

// stateOf derives a State from conditions: any failure wins over a
// collision, because a disk whose identity is unreadable has no prefix.
func stateOf(conds []Condition) State {
	state := StateOK
	for _, c := range conds {
		if c.Type == CondPrefixCollision {
			state = StateCollision
			continue
		}
		return StateFailed
	}
	return state
}

// Has reports whether s carries a condition of type t.
func (s DiskStatus) Has(t ConditionType) bool {
	return slices.ContainsFunc(s.Conditions, func(c Condition) bool { return c.Type == t })
}

// sortStatuses orders disks by kind, then path or lvstore name, so that
// listings and tests are stable.
func sortStatuses(ss []DiskStatus) {
	slices.SortFunc(ss, func(a, b DiskStatus) int {
		return strings.Compare(a.key(), b.key())
	})
}

// Counters are cumulative event counts, for metrics.
type Counters struct {
	// Collisions counts disks found colliding (each time one starts to).
	Collisions uint64 `json:"collisions"`
	// Regenerations counts identities regenerated, automatically or not.
	Regenerations uint64 `json:"regenerations"`
	// RegistryRejected counts registry contents rejected (empty,
	// unparsable, implausible or unreadable).
	RegistryRejected uint64 `json:"registry_rejected"`
}
