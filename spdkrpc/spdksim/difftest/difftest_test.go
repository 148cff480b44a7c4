package difftest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim/difftest"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdktgt"
)

func TestMain(m *testing.M) { os.Exit(spdktgt.Main(m)) }

// realSeeds are the seeds the tier runs on every submission; the
// command runs as many as asked (make difftest).
var realSeeds = []int64{1, 4, 5}

// The simulator answers the random sequences as a real spdk_tgt v26.05
// does, reply for reply and state for state.
func TestReal_simulatorAgreesWithSPDK(t *testing.T) {
	tgt := spdktgt.Shared(t)
	ctx := context.Background()
	for _, seed := range realSeeds {
		// Every seed starts from a fresh process: malloc names and
		// shallow-copy ids are numbered per process.
		if err := tgt.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := difftest.Run(ctx, difftest.Config{Seed: seed, Steps: 300, Real: tgt.Socket, Dir: t.TempDir()})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res.Diff != nil {
			t.Errorf("%v", res.Diff)
			if !tgt.Alive() {
				t.Fatalf("spdk_tgt died; its log ends:\n%s", tgt.LogTail())
			}
			continue
		}
		t.Logf("seed %d: %d steps, %d state checks, %.1fs", seed, res.Steps, res.StateChecks, res.Elapsed.Seconds())
	}
}

// Against a second simulator, the tester finds nothing: the generator,
// the normalization and the comparison add no differences of their own,
// and the stream never takes the simulator into a hang.
func TestRun_simulatorAgainstItself(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	other := spdksim.New(spdksim.Options{PollInterval: -1})
	dir := t.TempDir()
	if err := other.Start(ctx, dir+"/other.sock"); err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	res, err := difftest.Run(ctx, difftest.Config{Seed: 7, Steps: 200, Real: dir + "/other.sock", Dir: t.TempDir(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Diff != nil {
		t.Fatalf("%v", res.Diff)
	}
	if res.Steps != 200 || res.StateChecks != 200 || len(res.Sent) != 200 {
		t.Fatalf("steps %d, state checks %d, sent %d", res.Steps, res.StateChecks, len(res.Sent))
	}
}

// A run is a function of its seed: the same seed sends the same steps.
func TestRun_seedIsDeterministic(t *testing.T) {
	a, b := difftest.NewGenerator(3), difftest.NewGenerator(3)
	for i := range 50 {
		if x, y := a.Next(), b.Next(); x.String() != y.String() {
			t.Fatalf("step %d: %s vs %s", i, x, y)
		}
	}
}
