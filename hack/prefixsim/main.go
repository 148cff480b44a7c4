// Command prefixsim measures how many disks with uniformly random UUIDs a
// cluster holds before a new disk's short prefix is already taken (so that
// creating it needs a retry), and compares the mean with the birthday bound
// sqrt(pi*N/2), N = 16^digits.
//
//	go run ./hack/prefixsim -digits 4 -trials 100000
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/spdk-agent/spdk-agent/diskid"
)

func main() {
	digits := flag.Int("digits", 4, "prefix length in hex digits (1-8)")
	trials := flag.Int("trials", 20000, "number of simulated clusters")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	flag.Parse()
	if *digits < 1 || *digits > 8 || *trials < 1 {
		fmt.Fprintln(os.Stderr, "prefixsim: want 1 <= -digits <= 8 and -trials >= 1")
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(*seed, *seed>>1|1))
	start := time.Now()
	mean := diskid.SimulateFirstRetry(rng, *digits, *trials)
	want := diskid.ExpectedFirstRetry(*digits)
	fmt.Printf("digits=%d trials=%d seed=%d\n", *digits, *trials, *seed)
	fmt.Printf("mean disks before the first retry: %.1f\n", mean)
	fmt.Printf("birthday bound sqrt(pi*N/2):       %.1f (%+.1f%%)\n", want, 100*(mean-want)/want)
	fmt.Printf("took %v\n", time.Since(start).Round(time.Millisecond))
}
