package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

// DemoOptions configure RunDemo.
type DemoOptions struct {
	// Once ends the demo after the walkthrough; otherwise it serves until
	// ctx ends.
	Once bool
	// Dir holds the sockets and state; empty means a new temporary
	// directory, removed at the end.
	Dir string
	// Logger receives the agent's log; nil discards it.
	Logger *slog.Logger
}

// RunDemo runs the whole job on the SPDK simulator and narrates it to w: a
// realistic node, the agent in front of it, the lvol tree, the cleanup of a
// rebuilt replica that must not take the shared backing image with it, and
// a direct delete of a backing image refused by the agent's socket.
func RunDemo(ctx context.Context, w io.Writer, o DemoOptions) error {
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "spdk-agent-demo")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	sim := spdksim.New(spdksim.Options{}) // SPDK's 4 ms poller on
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	spdkSock := filepath.Join(dir, "spdk.sock")
	if err := sim.Start(simCtx, spdkSock); err != nil {
		return fmt.Errorf("demo: start the simulator: %w", err)
	}
	defer sim.Close()
	node, err := sim.BuildDemoNode(ctx, dir)
	if err != nil {
		return err
	}
	cfg := Config{
		SPDKSocket: spdkSock,
		RPCSocket:  filepath.Join(dir, "agent.sock"),
		StateDir:   filepath.Join(dir, "state"),
		AllowUIDs:  []uint32{0, uint32(os.Getuid())},
		Logger:     o.Logger,
	}
	a, err := New(cfg)
	if err != nil {
		return err
	}
	agentCtx, stopAgent := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- a.Run(agentCtx) }()
	defer func() {
		stopAgent()
		<-runErr
	}()
	c, err := dialWhenUp(ctx, cfg.RPCSocket)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := waitComplete(ctx, c); err != nil {
		return err
	}

	fmt.Fprintf(w, "== A storage node: SPDK simulator at %s, agent at %s\n\n", spdkSock, cfg.RPCSocket)
	var g GraphReply
	if err := c.Call(ctx, "agent_get_graph", nil, &g); err != nil {
		return err
	}
	RenderTree(w, g)
	fmt.Fprintf(w, "\n   %s is an [orphan]: replica r-50 is gone and nothing owns it; the agent reports it and deletes nothing.\n", spdksim.DemoOrphanLvol)

	vol := node.Volumes[1] // vol-b, whose replica shares its image with vol-a
	fmt.Fprintf(w, "\n== Replica %s of %s was rebuilt elsewhere: clean up its lvols in %s\n", vol.Replica, vol.Volume, vol.Lvstore)
	fmt.Fprintf(w, "   (its chain: %s; the image is shared with %s)\n\n", strings.Join(vol.Chain, " -> "), node.Volumes[0].Replica)
	req := map[string]any{"lvstore": vol.Lvstore, "replica": vol.Replica}
	var rep CleanupReport
	if err := c.Call(ctx, "agent_apply_cleanup", req, &rep); err != nil {
		return fmt.Errorf("demo: cleanup: %w", err)
	}
	RenderReport(w, rep)
	if err := explainImage(ctx, w, c, node.SharedImage, node.Volumes[0]); err != nil {
		return err
	}

	fmt.Fprintf(w, "\n== A direct bdev_lvol_delete of the backing image %s through the agent's socket\n", node.SingleCloneImage)
	fmt.Fprintf(w, "   (it has exactly one clone: SPDK would accept and merge it into that volume)\n")
	_, err = c.CallRaw(ctx, "bdev_lvol_delete", json.RawMessage(fmt.Sprintf(`{"name":%q}`, node.SingleCloneImage)))
	var se *spdkrpc.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("demo: the delete of %s was not refused: %v", node.SingleCloneImage, err)
	}
	line, _ := json.Marshal(se) // the error object as any SPDK client receives it
	fmt.Fprintf(w, "   error: %s\n", line)

	if o.Once {
		fmt.Fprintf(w, "\n== Explore (these sockets close with this run: 'spdk-agent demo' without --once keeps them)\n")
	} else {
		fmt.Fprintf(w, "\n== Explore\n")
	}
	fmt.Fprintf(w, "   SPDK socket:  %s\n   agent socket: %s\n   audit log:    %s\n\n", spdkSock, cfg.RPCSocket, cfg.statePath(auditFileName))
	for _, ex := range []string{"status", "tree", "lvols", "graph --format dot | dot -Tsvg > lvols.svg",
		"plan --lvstore " + spdksim.DemoAioLvstore + " --replica r-40"} {
		fmt.Fprintf(w, "   spdk-agent %s --socket %s\n", firstWord(ex), cfg.RPCSocket+restOf(ex))
	}
	if o.Once {
		return nil
	}
	fmt.Fprintf(w, "\nRunning until Ctrl-C.\n")
	select {
	case <-ctx.Done():
		return nil
	case err := <-runErr:
		runErr <- err
		return err
	}
}

// explainImage says why the shared image survived the cleanup: what still
// reads from it, and the guard's own reason.
func explainImage(ctx context.Context, w io.Writer, c *spdkrpc.Client, image string, other spdksim.DemoVolume) error {
	var d LvolDetail
	if err := c.Call(ctx, "agent_get_lvol", map[string]string{"name": image}, &d); err != nil {
		return fmt.Errorf("demo: %s: %w", image, err)
	}
	fmt.Fprintf(w, "\n   why %s stays:\n", image)
	for _, ch := range d.Lvol.Children {
		for _, x := range d.Descendants {
			if x.UUID == ch {
				fmt.Fprintf(w, "   - it has %s left, %s, the root of %s's chain (%s): deleting a snapshot with\n", count(len(d.Lvol.Children), "clone", "clones"), x.Alias, other.Volume, other.Replica)
				fmt.Fprintf(w, "     exactly one clone succeeds in SPDK and merges it into that chain, rewriting %s\n", other.Volume)
			}
		}
	}
	if p := d.Lvol.Protected; p != nil {
		fmt.Fprintf(w, "   - the guard: [%s] %s\n", p.Rule, p.Reason)
	}
	return nil
}

func firstWord(s string) string {
	for i := range s {
		if s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}

func restOf(s string) string { return s[len(firstWord(s)):] }

func dialWhenUp(ctx context.Context, path string) (*spdkrpc.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		c, err := spdkrpc.Dial(ctx, path, spdkrpc.Options{})
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("demo: the agent's socket never came up: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitComplete(ctx context.Context, c *spdkrpc.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		var st Status
		if err := c.Call(ctx, "agent_get_status", nil, &st); err == nil && st.Graph.Complete {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("demo: the agent never had a complete graph")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
