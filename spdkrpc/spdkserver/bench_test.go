package spdkserver_test

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// BenchmarkPoll50 measures fifty spdk_get_version calls with SPDK's 4 ms
// poller emulated, sent one after the other and all at once. A real
// spdk_tgt v26.05 takes about 50 x 7.8 ms and 7.6 ms.
func BenchmarkPoll50(b *testing.B) {
	f := startServer(b, spdkserver.Options{PollInterval: 4 * time.Millisecond})
	const n = 50
	b.Run("sequential", func(b *testing.B) {
		c := f.dial(b)
		r := bufio.NewReader(c)
		req := []byte(call(1, "spdk_get_version"))
		for b.Loop() {
			for range n {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := r.ReadString('\n'); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n)/1000, "ms/call")
	})
	b.Run("pipelined", func(b *testing.B) {
		c := f.dial(b)
		r := bufio.NewReader(c)
		req := []byte(strings.Repeat(call(1, "spdk_get_version"), n))
		for b.Loop() {
			if _, err := c.Write(req); err != nil {
				b.Fatal(err)
			}
			for range n {
				if _, err := r.ReadString('\n'); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/50calls")
	})
}
