// Package spdktgt runs a real spdk_tgt for tests: the opt-in real-SPDK tier.
//
// The tier is on when the environment variable SPDK_TGT names an spdk_tgt
// binary (CI points it at the v26.05 build the project is checked against).
// Without it, [Shared] and [Start] skip the calling test with one line that
// says how to turn the tier on, so `go test ./...` passes on any machine.
//
// spdk_tgt busy-polls one core, so a test package shares one target:
//
//	func TestMain(m *testing.M) { os.Exit(spdktgt.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		tgt := spdktgt.Shared(t) // started once, emptied before each use
//		c := tgt.Client(t)
//		...
//	}
//
// [Shared] hands the target over empty: [Target.Reset] tears down every
// lvstore and bdev in dependency order (so that no call hangs on an esnap
// parent) and, when that fails, a crashed or wedged target is replaced by a
// fresh one. [Target.Restart] stops and starts the process on the same
// socket, as a node's restart does; [Target.Alive] reads the process state
// from /proc, because a killed target lingers as a zombie for a while.
//
// At most [MaxTargets] targets run at once on the machine, whichever test
// processes start them: Start waits for a free slot (a flock'd file in the
// temporary directory, freed by the kernel if the holder dies).
//
// Targets are started as the shared README's start.sh starts them: no
// hugepages (-s memory), core 0, no PCI scan, no core files; their output
// goes to a log file whose tail is quoted when a start fails.
package spdktgt
