package health_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spdk-agent/spdk-agent/health"
)

// A server as the agent wires it, probed the way "spdk-agent probe" does.
func ExampleServer() {
	dir, err := os.MkdirTemp("", "health")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "health.sock")

	refresh := health.NewHeartbeat(time.Minute) // the refresh loop calls refresh.Beat()
	reg := prometheus.NewRegistry()
	metrics := health.NewMetrics(reg, health.BuildInfo{Version: "v0.1.0"})
	metrics.SetSPDKUp(false, "")

	srv := health.NewServer(health.Options{
		Livez: []health.Check{refresh.Check("refresh-loop")},
		Readyz: []health.Check{
			{Name: "spdk", Run: func(context.Context) error { return errors.New("connection refused") }},
			{Name: "graph", Run: func(context.Context) error { return nil }},
		},
		Gatherer: reg,
		Logger:   slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, sock, 0o660) }()
	defer func() { cancel(); <-done }()

	for _, path := range []string{"/livez", "/readyz?verbose"} {
		var status int
		var body string
		for range 100 { // until the socket is up
			if status, body, err = health.Probe(ctx, sock, path); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Printf("GET %s: %d\n%s\n", path, status, body)
	}
	// Output:
	// GET /livez: 200
	// ok
	// GET /readyz?verbose: 503
	// [-]spdk failed: connection refused
	// [+]graph ok
	// readyz check failed
}
