package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/health"
)

func init() {
	register(&command{
		name:    "probe",
		summary: "check the running agent's health (exit 0 if healthy): for kubelet exec probes",
		run: func(ctx context.Context, args []string) error {
			return runProbe(ctx, args, os.Stdout)
		},
	})
}

// probeEndpoints are the endpoints "probe" accepts, optionally followed by
// "/<check>" for one check.
var probeEndpoints = []string{"livez", "readyz", "healthz"}

func runProbe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: spdk-agent probe [--socket PATH] [--timeout D] [--verbose] [livez|readyz|healthz[/CHECK]]")
		fs.PrintDefaults()
	}
	socket := fs.String("socket", envDefault("SPDK_AGENT_HEALTH_SOCKET", health.DefaultSocket),
		"the agent's health socket (env SPDK_AGENT_HEALTH_SOCKET)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	verbose := fs.Bool("verbose", false, "list every check, not only failures")

	// Flags may come before or after the endpoint, as kubelet probe
	// commands are written both ways.
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	endpoint := "readyz"
	if fs.NArg() > 0 {
		endpoint = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("%w: unexpected arguments %q after %q", errUsage, fs.Args(), endpoint)
		}
	}
	base, _, _ := strings.Cut(endpoint, "/")
	if !slices.Contains(probeEndpoints, base) {
		return fmt.Errorf("%w: unknown endpoint %q (want livez, readyz or healthz, optionally /CHECK)", errUsage, endpoint)
	}
	if *timeout <= 0 {
		return fmt.Errorf("%w: --timeout must be positive, got %v", errUsage, *timeout)
	}

	path := "/" + endpoint
	if *verbose {
		path += "?verbose"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	status, body, err := health.Probe(ctx, *socket, path)
	switch {
	case errors.Is(err, health.ErrSocketAbsent):
		return fmt.Errorf("%w: is the agent running, with this --health-socket? (set --socket or SPDK_AGENT_HEALTH_SOCKET)", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer from %s within %v: %w", *socket, *timeout, err)
	case err != nil:
		return err
	}
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	fmt.Fprint(stdout, body)
	if status != http.StatusOK {
		return fmt.Errorf("%s: %d %s", endpoint, status, http.StatusText(status))
	}
	return nil
}
