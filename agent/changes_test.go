package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// TestLog_lvolChanges: lvols appearing and vanishing on SPDK leave one
// line each in the agent's log.
func TestLog_lvolChanges(t *testing.T) {
	var logged syncBuffer
	n := startNode(t, nodeOpts{edit: func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}})
	ctx := context.Background()
	alias := spdksim.DemoAioLvstore + "/logged-vol"
	if _, err := n.spdk.CallRaw(ctx, "bdev_lvol_create", json.RawMessage(`{"lvs_name":"`+spdksim.DemoAioLvstore+`","lvol_name":"logged-vol","size_in_mib":4,"thin_provision":true}`)); err != nil {
		t.Fatal(err)
	}
	waitLog(t, &logged, `msg="lvol added" lvol=`+alias)
	if _, err := n.spdk.CallRaw(ctx, "bdev_lvol_delete", json.RawMessage(`{"name":"`+alias+`"}`)); err != nil {
		t.Fatal(err)
	}
	waitLog(t, &logged, `msg="lvol removed" lvol=`+alias)
	if strings.Count(logged.String(), `msg="lvol added"`) != 1 {
		t.Errorf("the first graph's lvols were logged as added:\n%s", logged.String())
	}
}

func waitLog(t *testing.T, logged *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logged.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never showed %q:\n%s", want, logged.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLogChanges_bounded: a change of many lvols logs maxLoggedChanges
// lines and one summary with the counts.
func TestLogChanges_bounded(t *testing.T) {
	const lvs = spdkrpc.LvstoreUUID("800da8bc-906e-491c-b27d-26686b407e9b")
	in := lvolgraph.Inputs{Lvstores: []spdkrpc.Lvstore{{UUID: lvs, Name: "lvs0", BaseBdev: "Malloc0", TotalDataClusters: 100, FreeClusters: 100, BlockSize: 4096, ClusterSize: 4 << 20}}}
	empty := lvolgraph.Build(1, time.Now(), in)
	for i := range 25 {
		name := spdkrpc.LvolName(fmt.Sprintf("v%02d", i))
		u := spdkrpc.LvolUUID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		in.Lvols = append(in.Lvols, spdkrpc.Lvol{Alias: spdkrpc.MakeAlias("lvs0", name), UUID: u, Name: name, IsThinProvisioned: true, Lvs: spdkrpc.LvstoreRef{Name: "lvs0", UUID: lvs}})
		in.Bdevs = append(in.Bdevs, spdkrpc.Bdev{Name: spdkrpc.BdevName(u), Aliases: []string{string(spdkrpc.MakeAlias("lvs0", name))}, BlockSize: 4096, NumBlocks: 1024, UUID: spdkrpc.BdevUUID(u),
			DriverSpecific: &spdkrpc.BdevDriverSpecific{Lvol: &spdkrpc.LvolDriverInfo{LvolStoreUUID: lvs, BaseBdev: "Malloc0", ThinProvision: true}}})
	}
	full := lvolgraph.Build(2, time.Now(), in)

	var b strings.Builder
	logChanges(slog.New(slog.NewTextHandler(&b, nil)), empty, full)
	out := b.String()
	if got := strings.Count(out, `msg="lvol added"`); got != maxLoggedChanges {
		t.Errorf("%d lvol lines, want %d:\n%s", got, maxLoggedChanges, out)
	}
	if !strings.Contains(out, "added=25") || !strings.Contains(out, "not_logged=5") {
		t.Errorf("no summary of the 25 added, 5 not logged:\n%s", out)
	}
	b.Reset()
	logChanges(slog.New(slog.NewTextHandler(&b, nil)), full, full)
	if b.Len() != 0 {
		t.Errorf("an unchanged graph logs %q", b.String())
	}
}
