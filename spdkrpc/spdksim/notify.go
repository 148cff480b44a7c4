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

func (m *model) startShallowCopyLocked(p params) (any, error) {
	l, ok := m.findLvolLocked(p.str("src_lvol_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	dst, ok := m.findBdevLocked(p.str("dst_bdev_name"))
	if !ok {
		return nil, syncErr(enodev)
	}
	c := shallowCopy{clusters: l.allocated}
	if dst.size() < l.sizeBytes() {
		c = shallowCopy{err: strerror[einval]}
	}
	m.copySeq++
	m.copies[m.copySeq] = c
	return struct {
		OperationID uint32 `json:"operation_id"`
	}{m.copySeq}, nil
}

func (m *model) checkShallowCopyLocked(p params) (any, error) {
	c, ok := m.copies[uint32(p.uint("operation_id"))]
	if !ok {
		return nil, syncErr(enodev)
	}
	if c.err != "" {
		return shallowCopyStatus{State: "error", Error: c.err}, nil
	}
	return shallowCopyStatus{CopiedClusters: c.clusters, TotalClusters: c.clusters, State: "complete"}, nil
}
