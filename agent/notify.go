package agent

import (
	"context"
	"fmt"
)

// notification is one element of notify_get_notifications.
type notification struct {
	Type string `json:"type"`
	Ctx  string `json:"ctx"`
	ID   uint64 `json:"id"`
}

// maxNotifications bounds one poll, so that a burst (10k lvols created at
// once) is taken in bites that fit SPDK's reply size.
const maxNotifications = 4096

// notifyCursor remembers where the follower is in SPDK's event log.
type notifyCursor struct {
	next  uint64 // id of the first event not yet seen
	valid bool   // false until positioned on the current connection
}

// poll fetches the events after the cursor and advances it. On a connection
// where the cursor is not positioned yet, it only finds the end of the log:
// what happened before is covered by the full sync that follows.
func (n *notifyCursor) poll(ctx context.Context, r *reader) ([]notification, error) {
	var all []notification
	for {
		var evs []notification
		params := map[string]uint64{"id": n.next, "max": maxNotifications}
		if err := r.call(ctx, "notify_get_notifications", params, &evs); err != nil {
			return nil, fmt.Errorf("agent: poll notifications: %w", err)
		}
		for i, e := range evs {
			if e.ID < n.next {
				continue
			}
			if i == 0 && n.valid && e.ID > n.next {
				// SPDK keeps a ring of events: older ones were overwritten
				// before this poll, so changes were missed.
				lost := e.ID - n.next
				n.next = evs[len(evs)-1].ID + 1
				return nil, fmt.Errorf("%w: %s lost (ids %d..%d)", errNeedFullSync, count(int(lost), "notification", "notifications"), e.ID-lost, e.ID-1)
			}
			all = append(all, e)
			n.next = e.ID + 1
		}
		if len(evs) < maxNotifications {
			break
		}
	}
	if !n.valid {
		n.valid = true
		return nil, nil
	}
	return all, nil
}

// touchedBdevs returns the bdev names the events are about, in order, each
// once; registered and unregistered alike, since a name can go and come back
// within one poll and only a fresh read tells which is true now.
func touchedBdevs(evs []notification) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range evs {
		switch e.Type {
		case "bdev_register", "bdev_unregister":
		default:
			continue
		}
		if e.Ctx != "" && !seen[e.Ctx] {
			seen[e.Ctx] = true
			out = append(out, e.Ctx)
		}
	}
	return out
}
