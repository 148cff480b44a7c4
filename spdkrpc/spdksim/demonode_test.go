package spdksim

import (
	"context"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func TestBuildDemoNode(t *testing.T) {
	tg := NewTarget(Options{})
	n, err := BuildDemoNode(context.Background(), tg.Call, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	all := lvols(t, tg)
	for _, v := range n.Volumes {
		for i := 1; i < len(v.Chain); i++ {
			info := lvolInfo(t, tg, v.Chain[i])
			parent := v.Chain[i-1]
			switch {
			case info.Clone:
				if want := parent[strings.Index(parent, "/")+1:]; string(info.BaseSnapshot) != want {
					t.Errorf("%s: parent %s, want %s", v.Chain[i], info.BaseSnapshot, want)
				}
			case info.EsnapClone:
				b := must[[]spdkrpc.Bdev](t, tg, "bdev_get_bdevs", obj{"name": parent})[0]
				if info.ExternalSnapshotName != b.UUID {
					t.Errorf("%s: esnap %s, want %s", v.Chain[i], info.ExternalSnapshotName, b.UUID)
				}
			default:
				t.Errorf("%s has no parent, want %s", v.Chain[i], parent)
			}
		}
	}
	if got := lvolInfo(t, tg, n.SharedImage).Clones; len(got) != 2 {
		t.Errorf("shared image clones %v", got)
	}
	if got := lvolInfo(t, tg, n.SingleCloneImage).Clones; len(got) != 1 {
		t.Errorf("single-clone image clones %v", got)
	}
	for _, a := range []string{n.Expired, n.Orphan, n.SharedImage, DemoMallocLvstore + "/r-1", DemoMallocLvstore + "/r-10"} {
		if _, ok := all[a]; !ok {
			t.Errorf("%s missing", a)
		}
	}
	if !strings.HasPrefix(n.SharedImage, DemoMallocLvstore+"/bi-ubuntu-disk-"+n.MallocLvstoreUUID) {
		t.Errorf("image name %s", n.SharedImage)
	}
}
