package agent

import (
	"context"
	"errors"
	"path/filepath"
	"slices"

	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/health"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// newDiskManager returns the disk identity manager for cfg and the disks
// registered at run time by an earlier agent. There is one even without
// --disk and --registry: agent_disk_init may add the first disk at run time,
// and the lvstores' UUIDs are checked among themselves.
func newDiskManager(cfg Config, registered []string) (*diskid.Manager, error) {
	dc := diskid.DefaultConfig()
	dc.Node = cfg.Node
	dc.RegistryPath = cfg.Registry
	dc.Claims = cfg.Claims
	dc.StateDir = cfg.StateDir
	dc.Logger = cfg.Logger.With("part", "diskid")
	m, err := diskid.NewManager(dc)
	if err != nil {
		return nil, errors.Join(ErrConfig, err)
	}
	for _, d := range slices.Concat(cfg.Disks, registered) {
		if _, err := m.Add(d); err != nil {
			return nil, errors.Join(ErrConfig, err)
		}
	}
	return m, nil
}

// runDisks gives the configured disks an identity when they have none, then
// follows the registry until ctx ends. Problems are reported by readiness
// and the disks' conditions, not by stopping the agent.
func (a *Agent) runDisks(ctx context.Context) {
	// Nothing is generated from claims not listed yet (readiness says
	// so meanwhile).
	if w, ok := a.cfg.Claims.(interface{ WaitForSync(context.Context) error }); ok {
		if err := w.WaitForSync(ctx); err != nil {
			return
		}
	}
	for _, d := range slices.Concat(a.cfg.Disks, a.diskRegs.list()) {
		if _, err := a.disks.Init(ctx, d); err != nil {
			a.log.Error("disk identity", "disk", d, "err", err)
		}
	}
	if err := a.disks.Run(ctx); err != nil {
		a.log.Error("disk identities", "err", err)
	}
}

// configuredDisk reports whether path was given with --disk: such a disk
// is owned by the flags, not by run-time registration.
func (a *Agent) configuredDisk(path string) bool {
	return slices.ContainsFunc(a.cfg.Disks, func(d string) bool { return filepath.Clean(d) == path })
}

// rememberLvstoreDisks tells the disk manager about the lvstores, whose
// UUIDs are disk identities too (their collisions are reported, not fixed).
func (a *Agent) rememberLvstoreDisks(lvs []spdkrpc.Lvstore) {
	if a.disks == nil {
		return
	}
	ds := make([]diskid.LvstoreDisk, 0, len(lvs))
	for _, l := range lvs {
		ds = append(ds, diskid.LvstoreDisk{Name: l.Name, UUID: l.UUID})
	}
	a.disks.SetLvstores(ds)
}

// checkDisks is the readiness check of the disk identities. It is always
// listed, since disks may be added at run time, and passes while the agent
// manages no disk.
func (a *Agent) checkDisks(context.Context) error {
	if !a.managesDisks() {
		return nil
	}
	if ok, reason := a.disks.Ready(); !ok {
		return errors.New(reason)
	}
	return nil
}

// managesDisks reports whether the agent has a filesystem disk or reads a
// registry: only then are disk metrics exported, so that an agent without
// disks keeps the metrics it always had.
func (a *Agent) managesDisks() bool {
	if a.disks == nil {
		return false
	}
	if _, info, _ := a.disks.Registry(); info.Path != "" {
		return true
	}
	return slices.ContainsFunc(a.disks.Disks(), func(d diskid.DiskStatus) bool { return d.Kind == diskid.KindFilesystem })
}

// diskState is the health package's view of the disk identities; nil while
// the agent manages no disk.
func (a *Agent) diskState() *health.DiskState {
	if !a.managesDisks() {
		return nil
	}
	st := &health.DiskState{ByState: map[string]int{}}
	for _, d := range a.disks.Disks() {
		st.ByState[string(d.State)]++
		if d.State == diskid.StateCollision {
			st.Collisions++
		}
	}
	c := a.disks.Counters()
	st.Regenerations, st.RegistryUpdatesRejected = c.Regenerations, c.RegistryRejected
	if _, info, _ := a.disks.Registry(); info.Mode != "" {
		st.Registry, st.RegistrySynced, st.RegistryDisks = info.Mode, info.Good && !info.Stale, info.Disks
	}
	return st
}
