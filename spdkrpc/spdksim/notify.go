package spdksim

// maxNotifications is the size of SPDK's notification ring: older events
// are overwritten and can no longer be fetched.
const maxNotifications = 1024

// notification is one element of notify_get_notifications.
type notification struct {
	Type string `json:"type"`
	Ctx  string `json:"ctx"`
	ID   uint64 `json:"id"`
}

// notifyTypes are the types notify_get_types reports on a bdev-only target.
var notifyTypes = []string{"bdev_register", "bdev_unregister"}

func (m *model) notifyLocked(typ, ctx string) {
	n := notification{Type: typ, Ctx: ctx, ID: m.noteNext}
	m.noteNext++
	if len(m.notes) == maxNotifications {
		copy(m.notes, m.notes[1:])
		m.notes = m.notes[:maxNotifications-1]
	}
	m.notes = append(m.notes, n)
}

// getNotificationsLocked returns the events with id >= "id", at most "max"
// of them (0: all), oldest first.
func (m *model) getNotificationsLocked(p params) (any, error) {
	from, limit := p.uint("id"), p.uint("max")
	out := []notification{}
	for _, n := range m.notes {
		if n.ID < from {
			continue
		}
		if limit != 0 && uint64(len(out)) >= limit {
			break
		}
		out = append(out, n)
	}
	return out, nil
}

// shallowCopy is the state of one bdev_lvol_start_shallow_copy. The copy
// completes at once: the simulator moves no data.
type shallowCopy struct {
	clusters uint64
	err      string // "" when the copy succeeded
}

type shallowCopyStatus struct {
	CopiedClusters uint64 `json:"copied_clusters"`
	TotalClusters  uint64 `json:"total_clusters"`
	State          string `json:"state"`
	Error          string `json:"error,omitempty"`
}

// startShallowCopyLocked numbers the operation before it checks the
// destination, as SPDK does; the copy itself fails, reported by check,
// for a source that is not read-only or a destination too small or with
// a larger block size.
func (m *model) startShallowCopyLocked(p params) (any, error) {
	l, ok := m.findLvolLocked(p.str("src_lvol_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	m.copySeq++
	dst, ok := m.findBdevLocked(p.str("dst_bdev_name"))
	if !ok {
		return nil, paramsErr(enodev)
	}
	if !m.writeClaimableLocked(dst) {
		return nil, paramsErr(eperm)
	}
	c := shallowCopy{clusters: l.allocated}
	switch {
	case !l.readOnly:
		c.err = strerror[eperm]
	case dst.size() < l.sizeBytes() || l.lvs.base.blockSize%dst.blockSize != 0:
		c.err = strerror[einval]
	}
	if c.err == "" && dst.kind == kindLvol {
		c.err = m.copyIntoLvolLocked(l, dst.lvol)
	}
	m.copies[m.copySeq] = c
	return struct {
		OperationID uint32 `json:"operation_id"`
	}{m.copySeq}, nil
}

// copyIntoLvolLocked writes src's allocated clusters into the lvol dst,
// which allocates them there if dst is thin. The model counts clusters
// without placing them, so it assumes they land on dst's unallocated
// ones first, as they do when dst is new. A full lvstore fails the copy.
func (m *model) copyIntoLvolLocked(src, dst *lvol) string {
	if !dst.thin {
		return ""
	}
	bytes := src.allocated * src.lvs.clusterSize
	want := min(dst.clusters, (bytes+dst.lvs.clusterSize-1)/dst.lvs.clusterSize)
	if want <= dst.allocated {
		return ""
	}
	grow := want - dst.allocated
	short := grow > dst.lvs.freeClusters()
	grow = min(grow, dst.lvs.freeClusters())
	dst.allocated += grow
	if !dst.syncExtents() || short {
		return strerror[enospc]
	}
	return ""
}

func (m *model) checkShallowCopyLocked(p params) (any, error) {
	c, ok := m.copies[uint32(p.uint("operation_id"))]
	if !ok {
		return nil, syncErr(enodev)
	}
	// A finished operation is reported once, then forgotten.
	delete(m.copies, uint32(p.uint("operation_id")))
	if c.err != "" {
		return shallowCopyStatus{TotalClusters: c.clusters, State: "error", Error: c.err}, nil
	}
	return shallowCopyStatus{CopiedClusters: c.clusters, TotalClusters: c.clusters, State: "complete"}, nil
}
