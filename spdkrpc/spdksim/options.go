package spdksim

import (
	"log/slog"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// Options configure a simulated target. The zero value is a real spdk_tgt
// v26.05: random UUIDs, SPDK's polling period, hangs and crashes included.
type Options struct {
	// PollInterval is the period of the server's socket poller (SPDK: 4 ms).
	// Zero means 4 ms; negative means no polling delay.
	PollInterval time.Duration
	// Seed, when not zero, makes UUIDs deterministic (golden tests).
	Seed int64
	// NoDefects turns SPDK's hangs and crashes (sharp edges 1-3, the esnap
	// base deletion) into plain error replies: -16 "Device or resource busy"
	// for deletes that would hang, and the request's ordinary failure for
	// calls that would crash.
	NoDefects bool
	// MemoryLimit caps the bytes all malloc bdevs may hold; beyond it
	// bdev_malloc_create fails with -12 "Cannot allocate memory". Zero means
	// no limit.
	MemoryLimit uint64
	// RestartDelay is how long Sim.Restart leaves the socket absent, like
	// spdk_tgt's start-up time.
	RestartDelay time.Duration
	// Logger receives what spdk_tgt would write to its log (an answer cut
	// at MaxReply, handler mistakes); nil means none.
	Logger *slog.Logger
	// MaxReply is the largest answer sent; longer ones are cut as SPDK
	// cuts them (see spdkserver.SPDKSendBufMax). Zero means SPDK's 32 MiB;
	// tests set less to reach the cut with small nodes; negative means no
	// cap.
	MaxReply int
}

func (o Options) crashes() bool { return !o.NoDefects }

func (o Options) maxReply() int {
	switch {
	case o.MaxReply == 0:
		return spdkserver.SPDKSendBufMax
	case o.MaxReply < 0:
		return 0
	}
	return o.MaxReply
}

func (o Options) pollInterval() time.Duration {
	switch {
	case o.PollInterval == 0:
		return 4 * time.Millisecond
	case o.PollInterval < 0:
		return 0
	}
	return o.PollInterval
}
