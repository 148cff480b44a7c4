package spdkrpc

import (
	"context"
	"fmt"
)

// Typed wrappers of SPDK's bdev_lvol_* methods (v26.05). Errors wrap the
// sentinels of this package and name the objects involved. Every method
// that takes an LvolRef accepts the alias "lvs/name" or the lvol's UUID.

// CreateLvstoreParams are the parameters of bdev_lvol_create_lvstore.
type CreateLvstoreParams struct {
	BdevName BdevName    `json:"bdev_name"`
	LvsName  LvstoreName `json:"lvs_name"`
	// ClusterSize in bytes; SPDK's default is 4 MiB.
	ClusterSize uint32 `json:"cluster_sz,omitempty"`
	// ClearMethod is "none", "unmap" (SPDK's default) or "write_zeroes".
	ClearMethod string `json:"clear_method,omitempty"`
	// NumMdPagesPerClusterRatio caps the number of lvols: md pages =
	// ratio/100 x clusters (SPDK's default ratio is 100).
	NumMdPagesPerClusterRatio uint32 `json:"num_md_pages_per_cluster_ratio,omitempty"`
	MdPageSize                uint32 `json:"md_page_size,omitempty"`
}

// lvsSelector holds the members that choose an lvstore; key is "uuid" for
// most methods and "lvs_uuid" for bdev_lvol_get_lvols.
func lvsSelector(id LvstoreID, uuidKey string) map[string]string {
	switch {
	case id.uuid != "":
		return map[string]string{uuidKey: string(id.uuid)}
	case id.name != "":
		return map[string]string{"lvs_name": string(id.name)}
	}
	return nil
}

// requireLvs refuses an empty selector before anything is sent.
func requireLvs(id LvstoreID, method string) error {
	if id.IsZero() {
		return fmt.Errorf("%s: %w: no lvstore given (LvsByUUID or LvsByName)", method, ErrInvalidArgument)
	}
	return nil
}

// callTrue calls a method whose result is true on success.
func (c *Client) callTrue(ctx context.Context, method string, params any) error {
	var ok bool
	if err := c.Call(ctx, method, params, &ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: SPDK answered false", method)
	}
	return nil
}

// callFor calls method and decodes its result as a T.
func callFor[T any](ctx context.Context, c *Client, method string, params any) (T, error) {
	var out T
	err := c.Call(ctx, method, params, &out)
	return out, err
}

// optional turns an absent (nil) selector into no params at all.
func optional(sel map[string]string) any {
	if sel == nil {
		return nil
	}
	return sel
}

// wrapf adds the identifiers of a call to its error; nil stays nil.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// CreateLvstore creates an lvstore on a bdev and returns its UUID.
func (c *Client) CreateLvstore(ctx context.Context, p CreateLvstoreParams) (LvstoreUUID, error) {
	u, err := callFor[LvstoreUUID](ctx, c, "bdev_lvol_create_lvstore", p)
	return u, wrapf(err, "creating lvstore %q on bdev %q", p.LvsName, p.BdevName)
}

// GetLvstores lists the lvstores, or only the one lvs selects (ErrNotFound
// when there is none such).
func (c *Client) GetLvstores(ctx context.Context, lvs LvstoreID) ([]Lvstore, error) {
	out, err := callFor[[]Lvstore](ctx, c, "bdev_lvol_get_lvstores", optional(lvsSelector(lvs, "uuid")))
	return out, wrapf(err, "listing lvstores")
}

// RenameLvstore renames an lvstore; every lvol alias changes with it. SPDK
// does not check the 63-byte limit here and silently cuts longer names.
func (c *Client) RenameLvstore(ctx context.Context, oldName, newName LvstoreName) error {
	err := c.callTrue(ctx, "bdev_lvol_rename_lvstore", map[string]LvstoreName{"old_name": oldName, "new_name": newName})
	return wrapf(err, "renaming lvstore %q to %q", oldName, newName)
}

// GrowLvstore grows an lvstore to the size of its base bdev.
func (c *Client) GrowLvstore(ctx context.Context, lvs LvstoreID) error {
	if err := requireLvs(lvs, "bdev_lvol_grow_lvstore"); err != nil {
		return err
	}
	err := c.callTrue(ctx, "bdev_lvol_grow_lvstore", lvsSelector(lvs, "uuid"))
	return wrapf(err, "growing lvstore %s", lvs)
}

// DeleteLvstore deletes an lvstore AND every lvol in it: SPDK does not
// refuse a store that still holds lvols.
func (c *Client) DeleteLvstore(ctx context.Context, lvs LvstoreID) error {
	if err := requireLvs(lvs, "bdev_lvol_delete_lvstore"); err != nil {
		return err
	}
	err := c.callTrue(ctx, "bdev_lvol_delete_lvstore", lvsSelector(lvs, "uuid"))
	return wrapf(err, "deleting lvstore %s", lvs)
}

// CreateLvolParams are the parameters of bdev_lvol_create.
type CreateLvolParams struct {
	Lvs  LvstoreID
	Name LvolName
	// SizeMiB is rounded up to whole clusters by SPDK; 0 is accepted.
	SizeMiB       uint64
	ThinProvision bool
	// ClearMethod is "none", "unmap" or "write_zeroes"; empty for SPDK's default.
	ClearMethod string
}

type createLvolWire struct {
	LvolName      LvolName    `json:"lvol_name"`
	SizeMiB       uint64      `json:"size_in_mib"`
	ThinProvision bool        `json:"thin_provision,omitempty"`
	UUID          LvstoreUUID `json:"uuid,omitempty"`
	LvsName       LvstoreName `json:"lvs_name,omitempty"`
	ClearMethod   string      `json:"clear_method,omitempty"`
}

// CreateLvol creates an lvol and returns its UUID (also its bdev name).
func (c *Client) CreateLvol(ctx context.Context, p CreateLvolParams) (LvolUUID, error) {
	if err := requireLvs(p.Lvs, "bdev_lvol_create"); err != nil {
		return "", err
	}
	w := createLvolWire{LvolName: p.Name, SizeMiB: p.SizeMiB, ThinProvision: p.ThinProvision,
		UUID: p.Lvs.uuid, LvsName: p.Lvs.name, ClearMethod: p.ClearMethod}
	u, err := callFor[LvolUUID](ctx, c, "bdev_lvol_create", w)
	return u, wrapf(err, "creating lvol %q in lvstore %s", p.Name, p.Lvs)
}

// DeleteLvol deletes an lvol. Deleting a snapshot with exactly one clone
// succeeds and merges it into that clone; with more clones it fails with
// ErrNotPermitted. A missing lvol gives ErrNotFound.
func (c *Client) DeleteLvol(ctx context.Context, lvol LvolRef) error {
	return wrapf(c.callTrue(ctx, "bdev_lvol_delete", nameParam(lvol)), "deleting lvol %q", lvol)
}

// GetLvols lists the lvols (degraded ones included) of every lvstore, or of
// the one lvs selects.
func (c *Client) GetLvols(ctx context.Context, lvs LvstoreID) ([]Lvol, error) {
	out, err := callFor[[]Lvol](ctx, c, "bdev_lvol_get_lvols", optional(lvsSelector(lvs, "lvs_uuid")))
	return out, wrapf(err, "listing lvols")
}

// Snapshot snapshots an lvol, which becomes a thin clone of the new
// snapshot, and returns the snapshot's UUID.
func (c *Client) Snapshot(ctx context.Context, lvol LvolRef, snapshotName LvolName) (LvolUUID, error) {
	u, err := callFor[LvolUUID](ctx, c, "bdev_lvol_snapshot", map[string]string{"lvol_name": string(lvol), "snapshot_name": string(snapshotName)})
	return u, wrapf(err, "snapshotting lvol %q as %q", lvol, snapshotName)
}

// Clone clones a snapshot and returns the clone's UUID.
func (c *Client) Clone(ctx context.Context, snapshot LvolRef, cloneName LvolName) (LvolUUID, error) {
	u, err := callFor[LvolUUID](ctx, c, "bdev_lvol_clone", map[string]string{"snapshot_name": string(snapshot), "clone_name": string(cloneName)})
	return u, wrapf(err, "cloning snapshot %q as %q", snapshot, cloneName)
}

// CloneBdev creates an esnap clone of any bdev (name or UUID) in lvstore lvs
// and returns the clone's UUID. The bdev must not be deleted while the clone
// exists: SPDK never answers that delete and crashes later.
func (c *Client) CloneBdev(ctx context.Context, bdev BdevRef, lvs LvstoreName, cloneName LvolName) (LvolUUID, error) {
	u, err := callFor[LvolUUID](ctx, c, "bdev_lvol_clone_bdev", map[string]string{"bdev": string(bdev), "lvs_name": string(lvs), "clone_name": string(cloneName)})
	return u, wrapf(err, "cloning bdev %q as %q in lvstore %q", bdev, cloneName, lvs)
}

// SetParent makes a thin lvol a clone of snapshot parent.
func (c *Client) SetParent(ctx context.Context, lvol, parent LvolRef) error {
	err := c.callTrue(ctx, "bdev_lvol_set_parent", map[string]string{"lvol_name": string(lvol), "parent_name": string(parent)})
	return wrapf(err, "setting the parent of lvol %q to snapshot %q", lvol, parent)
}

// SetParentBdev makes a thin lvol an esnap clone of bdev parent (name or UUID).
func (c *Client) SetParentBdev(ctx context.Context, lvol LvolRef, parent BdevRef) error {
	err := c.callTrue(ctx, "bdev_lvol_set_parent_bdev", map[string]string{"lvol_name": string(lvol), "parent_name": string(parent)})
	return wrapf(err, "setting the parent of lvol %q to bdev %q", lvol, parent)
}

// RenameLvol renames an lvol within its lvstore; newName has no "lvs/"
// prefix. SPDK silently cuts names over 63 bytes here.
func (c *Client) RenameLvol(ctx context.Context, lvol LvolRef, newName LvolName) error {
	err := c.callTrue(ctx, "bdev_lvol_rename", map[string]string{"old_name": string(lvol), "new_name": string(newName)})
	return wrapf(err, "renaming lvol %q to %q", lvol, newName)
}

// ResizeLvol sets an lvol's size, rounded up to whole clusters.
func (c *Client) ResizeLvol(ctx context.Context, lvol LvolRef, sizeMiB uint64) error {
	err := c.callTrue(ctx, "bdev_lvol_resize", struct {
		Name    LvolRef `json:"name"`
		SizeMiB uint64  `json:"size_in_mib"`
	}{lvol, sizeMiB})
	return wrapf(err, "resizing lvol %q to %d MiB", lvol, sizeMiB)
}

// SetReadOnly marks an lvol read-only (bdev_get_bdevs does not show it).
func (c *Client) SetReadOnly(ctx context.Context, lvol LvolRef) error {
	return wrapf(c.callTrue(ctx, "bdev_lvol_set_read_only", nameParam(lvol)), "making lvol %q read-only", lvol)
}

// Inflate allocates every cluster of a thin lvol and detaches it from its
// parent.
func (c *Client) Inflate(ctx context.Context, lvol LvolRef) error {
	return wrapf(c.callTrue(ctx, "bdev_lvol_inflate", nameParam(lvol)), "inflating lvol %q", lvol)
}

// DecoupleParent copies the parent's clusters into the lvol and detaches
// it; it stays thin. An lvol without parent gives ErrInvalidArgument.
func (c *Client) DecoupleParent(ctx context.Context, lvol LvolRef) error {
	return wrapf(c.callTrue(ctx, "bdev_lvol_decouple_parent", nameParam(lvol)), "decoupling lvol %q from its parent", lvol)
}

// StartShallowCopy starts copying an lvol's own clusters to bdev dst and
// returns the operation id for CheckShallowCopy.
func (c *Client) StartShallowCopy(ctx context.Context, src LvolRef, dst BdevRef) (uint32, error) {
	var out struct {
		OperationID uint32 `json:"operation_id"`
	}
	err := c.Call(ctx, "bdev_lvol_start_shallow_copy", map[string]string{"src_lvol_name": string(src), "dst_bdev_name": string(dst)}, &out)
	return out.OperationID, wrapf(err, "starting a shallow copy of lvol %q to bdev %q", src, dst)
}

// CheckShallowCopy reports the progress of a shallow copy; an unknown id
// gives ErrNotFound.
func (c *Client) CheckShallowCopy(ctx context.Context, operationID uint32) (ShallowCopyStatus, error) {
	out, err := callFor[ShallowCopyStatus](ctx, c, "bdev_lvol_check_shallow_copy", map[string]uint32{"operation_id": operationID})
	return out, wrapf(err, "checking shallow copy %d", operationID)
}

func nameParam[T ~string](name T) map[string]string {
	return map[string]string{"name": string(name)}
}
