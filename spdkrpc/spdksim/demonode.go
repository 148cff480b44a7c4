package spdksim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// CallFunc sends one JSON-RPC request and returns its raw result. Both an
// in-process Target (Target.Call) and a socket client fit.
type CallFunc func(ctx context.Context, method string, params any) (json.RawMessage, error)

// Names of the demo node's objects that do not depend on generated UUIDs.
const (
	DemoMallocLvstore = "lvs-malloc"
	DemoAioLvstore    = "lvs-aio"
	DemoMallocBdev    = "Malloc0"
	DemoAioBdev       = "aio0"
	// DemoExternalImage is the malloc bdev an esnap replica reads from.
	DemoExternalImage = "bi-fedora"
	DemoExpiredLvol   = "r-10-expired-9f3a"
	// DemoOrphanLvol is a head put aside by replica r-50, which is gone:
	// no replica owns it any more (see lvolgraph.Graph.Orphans).
	DemoOrphanLvol = "r-50-expired-7c21"
)

// DemoVolume is one volume's replica on the demo node.
type DemoVolume struct {
	Volume  string
	Replica string // the head lvol's name
	Lvstore string
	// Chain lists the replica's lvol aliases from the root to the head;
	// for an esnap replica the root is the external bdev's name.
	Chain []string
}

// DemoNode names what BuildDemoNode created.
type DemoNode struct {
	MallocLvstoreUUID, AioLvstoreUUID string
	AioFile                           string
	Volumes                           []DemoVolume
	// SharedImage is a backing-image snapshot two volumes' replicas share;
	// SingleCloneImage one with exactly one clone (deleting it would merge
	// it into that volume).
	SharedImage, SingleCloneImage string
	Expired, Orphan               string // aliases
}

// BuildDemoNode lays out a realistic node through the target's own RPCs:
// a malloc lvstore and an aio lvstore (its file in dir); replicas named
// <replica> with snapshots <replica>-snap-<name> on backing images
// bi-<image>-disk-<lvstore uuid>; an image shared by r-1 and r-10 (one name
// a prefix of the other), an image with a single clone (r-20), an esnap
// replica on an external bdev (r-30), a volume with no image (r-40), an
// expired replica lvol and an orphan (the expired head of a deleted replica).
func BuildDemoNode(ctx context.Context, call CallFunc, dir string) (*DemoNode, error) {
	b := &demoBuilder{ctx: ctx, call: call}
	n := &DemoNode{AioFile: filepath.Join(dir, "aio0.img")}
	if err := makeSparse(n.AioFile, 1<<30); err != nil {
		return nil, err
	}
	b.do("bdev_malloc_create", map[string]any{"name": DemoMallocBdev, "num_blocks": 65536, "block_size": 4096}, nil)
	b.do("bdev_lvol_create_lvstore", map[string]any{"bdev_name": DemoMallocBdev, "lvs_name": DemoMallocLvstore}, &n.MallocLvstoreUUID)
	b.do("bdev_aio_create", map[string]any{"name": DemoAioBdev, "filename": n.AioFile, "block_size": 4096}, nil)
	b.do("bdev_lvol_create_lvstore", map[string]any{"bdev_name": DemoAioBdev, "lvs_name": DemoAioLvstore}, &n.AioLvstoreUUID)
	if b.err != nil {
		return nil, b.err
	}
	ubuntu := b.image(DemoMallocLvstore, "ubuntu", n.MallocLvstoreUUID)
	debian := b.image(DemoAioLvstore, "debian", n.AioLvstoreUUID)
	n.SharedImage, n.SingleCloneImage = ubuntu, debian
	n.Volumes = []DemoVolume{
		b.replica("vol-a", "r-1", DemoMallocLvstore, ubuntu, "daily1", "daily2"),
		b.replica("vol-b", "r-10", DemoMallocLvstore, ubuntu, "s1"),
		b.replica("vol-c", "r-20", DemoAioLvstore, debian),
	}
	b.do("bdev_malloc_create", map[string]any{"name": DemoExternalImage, "num_blocks": 4096, "block_size": 4096}, nil)
	b.do("bdev_lvol_clone_bdev", map[string]any{"bdev": DemoExternalImage, "lvs_name": DemoAioLvstore, "clone_name": "r-30"}, nil)
	b.snapshots(DemoAioLvstore, "r-30", "s1")
	n.Volumes = append(n.Volumes, DemoVolume{Volume: "vol-d", Replica: "r-30", Lvstore: DemoAioLvstore,
		Chain: []string{DemoExternalImage, DemoAioLvstore + "/r-30-snap-s1", DemoAioLvstore + "/r-30"}})
	b.do("bdev_lvol_create", map[string]any{"lvs_name": DemoAioLvstore, "lvol_name": "r-40", "size_in_mib": 64, "thin_provision": true}, nil)
	b.snapshots(DemoAioLvstore, "r-40", "s1")
	n.Volumes = append(n.Volumes, DemoVolume{Volume: "vol-e", Replica: "r-40", Lvstore: DemoAioLvstore,
		Chain: []string{DemoAioLvstore + "/r-40-snap-s1", DemoAioLvstore + "/r-40"}})
	n.Expired, n.Orphan = DemoMallocLvstore+"/"+DemoExpiredLvol, DemoAioLvstore+"/"+DemoOrphanLvol
	b.do("bdev_lvol_create", map[string]any{"lvs_name": DemoMallocLvstore, "lvol_name": DemoExpiredLvol, "size_in_mib": 16, "thin_provision": true}, nil)
	b.do("bdev_lvol_create", map[string]any{"lvs_name": DemoAioLvstore, "lvol_name": DemoOrphanLvol, "size_in_mib": 8, "thin_provision": true}, nil)
	if b.err != nil {
		return nil, b.err
	}
	return n, nil
}

// demoBuilder runs calls until the first error, which it keeps.
type demoBuilder struct {
	ctx  context.Context
	call CallFunc
	err  error
}

func (b *demoBuilder) do(method string, params map[string]any, out any) {
	if b.err != nil {
		return
	}
	res, err := b.call(b.ctx, method, params)
	if err == nil && out != nil {
		err = json.Unmarshal(res, out)
	}
	if err != nil {
		b.err = fmt.Errorf("demo node: %s %v: %w", method, params, err)
	}
}

// image makes the backing-image snapshot bi-<image>-disk-<lvs uuid>: a
// thick lvol is snapshotted and the writable origin removed, as an image
// import does.
func (b *demoBuilder) image(lvs, image, lvsUUID string) string {
	name, tmp := "bi-"+image+"-disk-"+lvsUUID, "bi-"+image+"-import"
	b.do("bdev_lvol_create", map[string]any{"lvs_name": lvs, "lvol_name": tmp, "size_in_mib": 64}, nil)
	b.do("bdev_lvol_snapshot", map[string]any{"lvol_name": lvs + "/" + tmp, "snapshot_name": name}, nil)
	b.do("bdev_lvol_delete", map[string]any{"name": lvs + "/" + tmp}, nil)
	return lvs + "/" + name
}

// replica clones image into the head lvol and takes the given snapshots.
func (b *demoBuilder) replica(volume, replica, lvs, image string, snaps ...string) DemoVolume {
	b.do("bdev_lvol_clone", map[string]any{"snapshot_name": image, "clone_name": replica}, nil)
	chain := append([]string{image}, b.snapshots(lvs, replica, snaps...)...)
	return DemoVolume{Volume: volume, Replica: replica, Lvstore: lvs, Chain: append(chain, lvs+"/"+replica)}
}

// snapshots snapshots the head once per name and returns their aliases,
// oldest first.
func (b *demoBuilder) snapshots(lvs, replica string, names ...string) []string {
	var out []string
	for _, s := range names {
		name := replica + "-snap-" + s
		b.do("bdev_lvol_snapshot", map[string]any{"lvol_name": lvs + "/" + replica, "snapshot_name": name}, nil)
		out = append(out, lvs+"/"+name)
	}
	return out
}

func makeSparse(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("demo node: %w", err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("demo node: size %s: %w", path, err)
	}
	return nil
}

// Call runs one request in process, without a socket; a request that SPDK
// would never answer returns spdkserver.ErrNoReply at once.
func (t *Target) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	var raw json.RawMessage
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("%s: encode params: %w", method, err)
		}
		raw = b
	}
	type answer struct {
		res any
		err error
	}
	ch := make(chan answer, 1)
	t.ServeRPC(ctx, &spdkserver.Request{Method: method, Params: raw}, func(res any, err error) { ch <- answer{res, err} })
	select {
	case a := <-ch:
		if a.err != nil {
			return nil, a.err
		}
		b, _ := a.res.(json.RawMessage)
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
