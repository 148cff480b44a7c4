package lvolgraph

import (
	"fmt"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func TestShardOf_spreads(t *testing.T) {
	for _, gen := range []func(int) string{
		func(i int) string { return fakeUUID(fmt.Sprint(i)) },
		func(i int) string { return fmt.Sprintf("pvc-%08x-r-%04x-snap-%d", i/4*2654435761, i/4%65536, i%4) },
		func(i int) string { return fmt.Sprint("v", i) },
	} {
		const n = 256 * 100
		var counts [shardCount]int
		for i := range n {
			counts[shardOf(gen(i))]++
		}
		for i, c := range counts {
			if c < 50 || c > 150 {
				t.Fatalf("shard %d holds %d of %d keys like %q", i, c, n, gen(0))
			}
		}
	}
}

func TestPmap_versions(t *testing.T) {
	var e pedit[spdkrpc.LvolName, int]
	for i := range 1000 {
		e.set(spdkrpc.LvolName(fmt.Sprint(i)), i)
	}
	v1 := e.done()
	e2 := editOf(v1)
	e2.set("7", -7)
	e2.del("8")
	e2.del("no")
	v2 := e2.done()
	if x, _ := v1.get("7"); x != 7 || v1.len() != 1000 {
		t.Fatalf("old version changed: %d, %d", x, v1.len())
	}
	if x, _ := v2.get("7"); x != -7 || v2.len() != 999 {
		t.Fatalf("new version: %d, %d", x, v2.len())
	}
	if _, ok := v2.get("8"); ok {
		t.Fatal("deleted key still there")
	}
	same := 0
	for i := range shardCount {
		if sameShard(v1, v2, i) {
			same++
		}
	}
	if same < shardCount-2 {
		t.Fatalf("an edit of two keys copied %d shards", shardCount-same)
	}
}
