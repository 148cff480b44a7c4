package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spdk-agent/spdk-agent/agent"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// agentDisks does the disk subcommands through the running agent's
// agent_disk_* methods.
type agentDisks struct{ c *spdkrpc.Client }

func (a agentDisks) list(ctx context.Context, check bool) (agent.DiskReport, error) {
	method := "agent_disk_list"
	if check {
		method = "agent_disk_check"
	}
	var rep agent.DiskReport
	err := a.c.Call(ctx, method, nil, &rep)
	return rep, err
}

// init asks the agent to take on each path, then reports every disk the
// agent manages. Paths are made absolute here: the agent does not share
// this process's working directory.
func (a agentDisks) init(ctx context.Context, paths []string) (*agent.DiskReport, error) {
	var errs []error
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err == nil {
			err = a.c.Call(ctx, "agent_disk_init", map[string]string{"path": abs}, nil)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("disk %s: %w", p, err))
		}
	}
	rep, err := a.list(ctx, false)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	return &rep, errors.Join(errs...)
}

func (a agentDisks) regenerate(ctx context.Context, path string, force bool) (agent.DiskRegenerated, error) {
	var r agent.DiskRegenerated
	abs, err := filepath.Abs(path)
	if err != nil {
		return r, err
	}
	err = a.c.Call(ctx, "agent_disk_regenerate", map[string]any{"path": abs, "force": force}, &r)
	return r, err
}
