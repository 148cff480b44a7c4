package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdksim"
)

func init() {
	register(&command{name: "demo", summary: "show a simulated node's lvstores and lvols", run: runDemo})
}

func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	once := fs.Bool("once", false, "print the listing and exit instead of serving until interrupted")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	dir, err := os.MkdirTemp("", "spdk-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	socket := filepath.Join(dir, "spdk.sock")
	sim, _, err := startSim(ctx, socket, spdksim.Options{}, true, dir)
	if err != nil {
		return err
	}
	defer sim.Close()
	if err := printNode(ctx, os.Stdout, socket); err != nil {
		return err
	}
	if *once {
		return nil
	}
	fmt.Fprintf(os.Stderr, "simulated spdk_tgt on %s; Ctrl-C to stop\n", socket)
	<-ctx.Done()
	return nil
}

// rawClient is the smallest JSON-RPC client that works with SPDK: one
// request at a time on one connection.
type rawClient struct {
	conn net.Conn
	enc  *json.Encoder
	dec  *json.Decoder
	id   int
}

func (c *rawClient) call(method string, params, out any) error {
	c.id++
	req := map[string]any{"jsonrpc": "2.0", "id": c.id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if err := c.enc.Encode(req); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *spdkrpc.Error  `json:"error"`
	}
	if err := c.dec.Decode(&resp); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("%s: %w", method, resp.Error)
	}
	return json.Unmarshal(resp.Result, out)
}

func printNode(ctx context.Context, w io.Writer, socket string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := &rawClient{conn: conn, enc: json.NewEncoder(conn), dec: json.NewDecoder(conn)}
	var stores []spdkrpc.Lvstore
	var lvols []spdkrpc.Lvol
	var bdevs []spdkrpc.Bdev
	for _, q := range []struct {
		method string
		out    any
	}{{"bdev_lvol_get_lvstores", &stores}, {"bdev_lvol_get_lvols", &lvols}, {"bdev_get_bdevs", &bdevs}} {
		if err := c.call(q.method, nil, q.out); err != nil {
			return err
		}
	}
	byName, nameOf := map[spdkrpc.BdevName]spdkrpc.Bdev{}, map[spdkrpc.BdevUUID]spdkrpc.BdevName{}
	for _, b := range bdevs {
		byName[b.Name], nameOf[b.UUID] = b, b.Name
	}
	for _, s := range stores {
		fmt.Fprintf(w, "lvstore %s (%s) on %s: %d of %d clusters free\n", s.Name, s.UUID, s.BaseBdev, s.FreeClusters, s.TotalDataClusters)
		for _, l := range lvols {
			if l.Lvs.UUID != s.UUID {
				continue
			}
			kind, parent := "volume", ""
			b := byName[spdkrpc.BdevName(l.UUID)]
			if info, ok := b.LvolInfo(); ok {
				switch {
				case info.Clone:
					parent = "<- " + string(info.BaseSnapshot)
				case info.EsnapClone:
					parent = "<- bdev " + string(nameOf[info.ExternalSnapshotName])
				}
			}
			if l.IsSnapshot {
				kind = "snapshot"
			}
			fmt.Fprintf(w, "  %-8s %s %s\n", kind, l.Name, parent)
		}
	}
	fmt.Fprintln(w, strings.Repeat("-", 20))
	fmt.Fprintf(w, "%d lvstores, %d lvols, %d bdevs\n", len(stores), len(lvols), len(bdevs))
	return nil
}
