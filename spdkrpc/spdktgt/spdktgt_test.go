package spdktgt_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdktgt"
)

func TestMain(m *testing.M) { os.Exit(spdktgt.Main(m)) }

// call makes one call and fails the test on an error.
func call(t *testing.T, c *spdkrpc.Client, method, params string) json.RawMessage {
	t.Helper()
	var p json.RawMessage
	if params != "" {
		p = json.RawMessage(params)
	}
	r, err := c.CallRaw(context.Background(), method, p)
	if err != nil {
		t.Fatalf("%s %s: %v", method, params, err)
	}
	return r
}

func count(t *testing.T, c *spdkrpc.Client, method string) int {
	t.Helper()
	var out []json.RawMessage
	if err := json.Unmarshal(call(t, c, method, ""), &out); err != nil {
		t.Fatal(err)
	}
	return len(out)
}

// A layout with every kind of stacking the tier's tests build is torn down
// by Reset without restarting the target.
func TestReal_resetTearsDownStacksInPlace(t *testing.T) {
	tgt := spdktgt.Shared(t)
	c := tgt.Client(t)
	pid := tgt.PID()
	call(t, c, "bdev_malloc_create", `{"name":"m0","num_blocks":16384,"block_size":512}`)
	call(t, c, "bdev_malloc_create", `{"name":"m1","num_blocks":8192,"block_size":512}`)
	call(t, c, "bdev_malloc_create", `{"name":"m2","num_blocks":8192,"block_size":512}`)
	call(t, c, "bdev_malloc_create", `{"name":"img","num_blocks":2048,"block_size":512}`)
	call(t, c, "bdev_lvol_create_lvstore", `{"bdev_name":"m0","lvs_name":"lvs0","cluster_sz":1048576}`)
	call(t, c, "bdev_lvol_create", `{"lvol_name":"v","size_in_mib":2,"lvs_name":"lvs0","thin_provision":true}`)
	call(t, c, "bdev_lvol_snapshot", `{"lvol_name":"lvs0/v","snapshot_name":"s"}`)
	call(t, c, "bdev_lvol_clone", `{"snapshot_name":"lvs0/s","clone_name":"c"}`)
	call(t, c, "bdev_lvol_create", `{"lvol_name":"base","size_in_mib":4,"lvs_name":"lvs0"}`)
	call(t, c, "bdev_lvol_create_lvstore", `{"bdev_name":"lvs0/base","lvs_name":"nested","cluster_sz":1048576}`)
	call(t, c, "bdev_lvol_clone_bdev", `{"bdev":"img","lvs_name":"nested","clone_name":"e"}`)
	call(t, c, "bdev_lvol_create", `{"lvol_name":"src","size_in_mib":1,"lvs_name":"nested"}`)
	call(t, c, "bdev_lvol_clone_bdev", `{"bdev":"nested/src","lvs_name":"lvs0","clone_name":"e2"}`)
	call(t, c, "bdev_raid_create", `{"name":"r0","raid_level":"raid0","strip_size_kb":64,"base_bdevs":["m1","m2"]}`)
	call(t, c, "bdev_split_create", `{"base_bdev":"r0","split_count":2}`)
	call(t, c, "bdev_passthru_create", `{"base_bdev_name":"r0p0","name":"pt"}`)
	call(t, c, "bdev_lvol_create_lvstore", `{"bdev_name":"pt","lvs_name":"onpt","cluster_sz":1048576}`)

	if err := tgt.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tgt.PID() != pid {
		t.Errorf("Reset restarted the target (pid %d -> %d); want an in-place teardown: %v", pid, tgt.PID(), tgt.TeardownError())
	}
	tgt.RequireAlive(t)
	c2 := tgt.Client(t)
	if n := count(t, c2, "bdev_get_bdevs"); n != 0 {
		t.Errorf("%d bdevs left after Reset", n)
	}
	if n := count(t, c2, "bdev_lvol_get_lvstores"); n != 0 {
		t.Errorf("%d lvstores left after Reset", n)
	}
}

// A killed target is replaced by Shared's Reset, and Alive tells the two
// apart.
func TestReal_resetReplacesADeadTarget(t *testing.T) {
	tgt := spdktgt.Shared(t)
	pid := tgt.PID()
	tgt.Kill()
	if tgt.Alive() {
		t.Fatal("Alive after Kill")
	}
	if err := tgt.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	tgt.RequireAlive(t)
	if tgt.PID() == pid {
		t.Errorf("pid unchanged after replacing a dead target")
	}
	c := tgt.Client(t)
	var v struct{ Version string }
	if err := c.Call(context.Background(), "spdk_get_version", nil, &v); err != nil || v.Version == "" {
		t.Fatalf("spdk_get_version after replace: %q %v", v.Version, err)
	}
}

// A set SPDK_TGT that names nothing runnable is an error, not a skip.
func TestBinaryRejectsAWrongPath(t *testing.T) {
	t.Setenv(spdktgt.EnvVar, t.TempDir())
	if _, err := spdktgt.Binary(); err == nil {
		t.Fatal("Binary accepted a directory")
	}
	t.Setenv(spdktgt.EnvVar, "")
	if b, err := spdktgt.Binary(); b != "" || err != nil {
		t.Fatalf("unset: %q %v", b, err)
	}
}
