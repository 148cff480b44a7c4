package spdkrpc

import "context"

// Typed wrappers of SPDK's framework, introspection and notification
// methods. None of the parameterless ones sends a "params" member: SPDK
// rejects even {} for them.

// GetVersion calls spdk_get_version.
func (c *Client) GetVersion(ctx context.Context) (VersionInfo, error) {
	return callFor[VersionInfo](ctx, c, "spdk_get_version", nil)
}

// GetMethods calls rpc_get_methods: the names of every method this SPDK
// provides, in any state. The client learns them at connect time too (see
// HasMethod).
func (c *Client) GetMethods(ctx context.Context) ([]string, error) {
	return callFor[[]string](ctx, c, "rpc_get_methods", nil)
}

// FrameworkWaitInit returns once SPDK's subsystems are initialised.
func (c *Client) FrameworkWaitInit(ctx context.Context) error {
	return c.callTrue(ctx, "framework_wait_init", nil)
}

// NotifyGetTypes lists the notification types SPDK can report.
func (c *Client) NotifyGetTypes(ctx context.Context) ([]string, error) {
	return callFor[[]string](ctx, c, "notify_get_types", nil)
}

// NotifyGetNotifications returns up to max notifications with an id of at
// least id (0 and 0: all there are). SPDK keeps a bounded ring of them, so
// a gap in the ids means events were missed and the caller must resync by
// listing.
func (c *Client) NotifyGetNotifications(ctx context.Context, id, max uint64) ([]Notification, error) {
	var params any
	if id != 0 || max != 0 {
		params = struct {
			ID  uint64 `json:"id,omitempty"`
			Max uint64 `json:"max,omitempty"`
		}{id, max}
	}
	out, err := callFor[[]Notification](ctx, c, "notify_get_notifications", params)
	return out, wrapf(err, "getting notifications from id %d", id)
}
