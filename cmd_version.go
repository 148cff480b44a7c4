package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

func init() {
	register(&command{name: "version", summary: "print the agent's version", run: runVersion})
}

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func runVersion(_ context.Context, _ []string) error {
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	fmt.Printf("spdk-agent %s (%s)\n", version, goVersion)
	return nil
}
