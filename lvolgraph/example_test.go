package lvolgraph_test

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func Example() {
	// The agent reads bdev_lvol_get_lvstores, bdev_lvol_get_lvols and
	// bdev_get_bdevs; here they come from a recording of spdk_tgt.
	in, err := readListings("testdata/transcript.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	g := lvolgraph.Build(1, time.Now(), in)

	snap, _ := g.Lvol(lvolgraph.ParseRef("lvs0/snap1"))
	for _, c := range g.Children(snap) {
		fmt.Println("clone of snap1:", c.Alias)
	}

	// The guard refuses what would rewrite another chain or hang SPDK.
	d := g.CheckDeleteLvol(lvolgraph.ParseRef("lvs0/snap1"))
	fmt.Println("delete snap1:", d.Allowed, d.Rule)
	d = g.CheckDeleteBdev("bi0")
	fmt.Println("delete bi0:", d.Allowed, d.Rule, d.Dependents)

	// A cleanup plan deletes leaves first and refuses, with a rule, what
	// must stay.
	plan, err := lvolgraph.PlanCleanup(g, lvolgraph.CleanupRequest{Lvstore: lvolgraph.ParseRef("lvs0"), Replica: "vol1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range plan.Delete {
		fmt.Println("delete", s.Alias)
	}
	for _, r := range plan.Refused {
		fmt.Println("keep", r.Alias, r.Rule)
	}
	// Output:
	// clone of snap1: lvs0/thin2
	// clone of snap1: lvs0/clone1
	// clone of snap1: lvs0/vol1
	// delete snap1: false has-dependents
	// delete bi0: false backing-image [lvs0/esnapclone1]
	// delete lvs0/vol1
	// keep lvs0/snap1 backing-image
}

func readListings(path string) (lvolgraph.Inputs, error) {
	var in lvolgraph.Inputs
	data, err := os.ReadFile(path)
	if err != nil {
		return in, err
	}
	var f struct {
		Lvstores []spdkrpc.Lvstore `json:"bdev_lvol_get_lvstores"`
		Lvols    []spdkrpc.Lvol    `json:"bdev_lvol_get_lvols"`
		Bdevs    []spdkrpc.Bdev    `json:"bdev_get_bdevs"`
	}
	err = json.Unmarshal(data, &f)
	return lvolgraph.Inputs{Lvstores: f.Lvstores, Lvols: f.Lvols, Bdevs: f.Bdevs}, err
}
