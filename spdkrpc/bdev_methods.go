package spdkrpc

import (
	"context"
	"slices"
)

// Typed wrappers of the bdev methods the agent uses.

// GetBdevsParams are the optional parameters of bdev_get_bdevs.
type GetBdevsParams struct {
	// Name selects one bdev by name, alias or UUID; empty lists all.
	Name BdevRef `json:"name,omitempty"`
	// TimeoutMs waits up to this many milliseconds for Name to appear.
	TimeoutMs uint64 `json:"timeout,omitempty"`
}

// GetBdevs lists bdevs, or the one p.Name selects (ErrNotFound when it does
// not exist). This is the only listing with lvol parent/child links
// (driver_specific.lvol). With many lvols the reply is large: about 1.2 KB
// per lvol.
func (c *Client) GetBdevs(ctx context.Context, p GetBdevsParams) ([]Bdev, error) {
	var params any
	if p != (GetBdevsParams{}) {
		params = p
	}
	out, err := callFor[[]Bdev](ctx, c, "bdev_get_bdevs", params)
	if p.Name != "" {
		return out, wrapf(err, "getting bdev %q", p.Name)
	}
	return out, wrapf(err, "listing bdevs")
}

// GetIostat returns the I/O counters of every bdev, or of the bdevs names
// select when there are any. SPDK fails the whole call when one of the names
// is not a bdev.
func (c *Client) GetIostat(ctx context.Context, names ...BdevRef) (*Iostat, error) {
	var params any
	if names = slices.DeleteFunc(slices.Clone(names), func(n BdevRef) bool { return n == "" }); len(names) > 0 {
		params = map[string][]BdevRef{"names": names}
	}
	var out Iostat
	if err := c.Call(ctx, "bdev_get_iostat", params, &out); err != nil {
		return nil, wrapf(err, "getting I/O statistics")
	}
	return &out, nil
}

// MallocCreateParams are the parameters of bdev_malloc_create.
type MallocCreateParams struct {
	// Name is the new bdev's name; empty lets SPDK pick one ("Malloc0").
	Name      BdevName `json:"name,omitempty"`
	NumBlocks uint64   `json:"num_blocks"`
	BlockSize uint32   `json:"block_size"`
	UUID      BdevUUID `json:"uuid,omitempty"`
}

// MallocCreate creates a RAM bdev and returns its name.
func (c *Client) MallocCreate(ctx context.Context, p MallocCreateParams) (BdevName, error) {
	name, err := callFor[BdevName](ctx, c, "bdev_malloc_create", p)
	return name, wrapf(err, "creating malloc bdev %q", p.Name)
}

// MallocDelete deletes a RAM bdev. Deleting the base bdev of an esnap clone
// never completes in SPDK v26.05: delete such clones first.
func (c *Client) MallocDelete(ctx context.Context, name BdevName) error {
	return wrapf(c.callDelete(ctx, "bdev_malloc_delete", name), "deleting malloc bdev %q", name)
}

// AioCreateParams are the parameters of bdev_aio_create.
type AioCreateParams struct {
	Name     BdevName `json:"name"`
	Filename string   `json:"filename"`
	// BlockSize is detected from the file or device when zero.
	BlockSize uint32   `json:"block_size,omitempty"`
	ReadOnly  bool     `json:"readonly,omitempty"`
	Fallocate bool     `json:"fallocate,omitempty"`
	UUID      BdevUUID `json:"uuid,omitempty"`
}

// AioCreate creates a bdev over a file or block device and returns its name.
func (c *Client) AioCreate(ctx context.Context, p AioCreateParams) (BdevName, error) {
	name, err := callFor[BdevName](ctx, c, "bdev_aio_create", p)
	return name, wrapf(err, "creating aio bdev %q on %q", p.Name, p.Filename)
}

// AioDelete deletes an aio bdev (with the same caveat as MallocDelete).
func (c *Client) AioDelete(ctx context.Context, name BdevName) error {
	return wrapf(c.callDelete(ctx, "bdev_aio_delete", name), "deleting aio bdev %q", name)
}

// callDelete calls a bdev delete method, which takes only a name.
func (c *Client) callDelete(ctx context.Context, method string, name BdevName) error {
	return c.callTrue(ctx, method, nameParam(name))
}

// WaitForExamine returns once every bdev has been examined, so that
// lvstores on existing bdevs are loaded.
func (c *Client) WaitForExamine(ctx context.Context) error {
	return c.callTrue(ctx, "bdev_wait_for_examine", nil)
}
