package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/spdk-agent/spdk-agent/agent"
)

func init() {
	register(&command{name: "demo", summary: "run the agent on a simulated node and walk through what it guards", run: runDemo})
}

func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	once := fs.Bool("once", false, "exit after the walkthrough instead of serving until interrupted")
	verbose := fs.Bool("v", false, "show the agent's log on stderr")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	o := agent.DemoOptions{Once: *once}
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	agent.Version = version
	return agent.RunDemo(ctx, os.Stdout, o)
}
