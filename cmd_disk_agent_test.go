package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/agent"
	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// startDiskAgent runs an agent managing one disk in front of an empty
// simulated SPDK, and returns its socket and the disk.
func startDiskAgent(t *testing.T) (socket, disk string) {
	t.Helper()
	// Unix socket paths are short: not under t.TempDir.
	dir, err := os.MkdirTemp("", "cli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	disk = filepath.Join(dir, "disk1")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	socket, _ = startSimAndAgent(t, dir, false, agent.Config{Disks: []string{disk}})
	ctx := context.Background()
	// Ready when the disk has its identity.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := spdkrpc.Dial(ctx, socket, spdkrpc.Options{}); err == nil {
			var rep agent.DiskReport
			err = c.Call(ctx, "agent_disk_list", nil, &rep)
			c.Close()
			if err == nil && len(rep.Disks) == 1 && rep.Disks[0].UUID != "" {
				return socket, disk
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent did not come up with its disk")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDisk_socket(t *testing.T) {
	socket, disk := startDiskAgent(t)
	id, err := diskid.ReadIdentity(disk)
	if err != nil {
		t.Fatal(err)
	}

	// One renderer: the agent's answer prints as the local listing does.
	local, _, err := runDisk(t, "list", "--disk", disk)
	if err != nil {
		t.Fatal(err)
	}
	remote, _, err := runDisk(t, "list", "--socket", socket)
	if err != nil {
		t.Fatal(err)
	}
	if remote != local || !strings.Contains(remote, string(id.UUID)) {
		t.Errorf("list --socket:\n%s\nlocal list:\n%s", remote, local)
	}
	out, _, err := runDisk(t, "list", "--socket", socket, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep agent.DiskReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Disks) != 1 || rep.Disks[0].UUID != id.UUID || rep.Disks[0].Path != disk {
		t.Fatalf("list --socket -o json: %v\n%s", err, out)
	}
	if _, _, err := runDisk(t, "check", "--socket", socket); err != nil {
		t.Errorf("check --socket: %v", err)
	}

	// The environment names the socket; a relative path is the caller's.
	t.Setenv("SPDK_AGENT_RPC_SOCKET", socket)
	t.Chdir(filepath.Dir(disk))
	if err := os.Mkdir("disk2", 0o755); err != nil {
		t.Fatal(err)
	}
	out, _, err = runDisk(t, "init", "disk2")
	disk2 := filepath.Join(filepath.Dir(disk), "disk2")
	id2, rerr := diskid.ReadIdentity(disk2)
	if err != nil || rerr != nil || !strings.Contains(out, disk2) || !strings.Contains(out, string(id2.UUID)) || !strings.Contains(out, disk) {
		t.Fatalf("init through the agent: %v, %v\n%s", err, rerr, out)
	}
	out, _, err = runDisk(t, "regenerate", "disk2", "--force", "-o", "json")
	var r agent.DiskRegenerated
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.OldUUID != id2.UUID || r.Path != disk2 {
		t.Fatalf("regenerate through the agent: %v\n%s", err, out)
	}
	if now, _ := diskid.ReadIdentity(disk2); now.UUID != r.NewUUID {
		t.Errorf("file holds %s, agent answered %s", now.UUID, r.NewUUID)
	}
	// A disk the agent does not manage: its error, not a usage error.
	_, _, err = runDisk(t, "regenerate", t.TempDir(), "--force")
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "No such device") {
		t.Errorf("regenerate of an unmanaged disk: %v", err)
	}
}

func TestDisk_socketUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"local disks", []string{"list", "--socket", "/nowhere.sock", "--disk", "/d"}, "--disk"},
		{"local registry", []string{"check", "--socket", "/nowhere.sock", "--registry", "/r", "--node", "n"}, "--node, --registry"},
		{"regenerate without force", []string{"regenerate", "/d", "--socket", "/nowhere.sock"}, "--force"},
	}
	for _, tt := range tests {
		_, _, err := runDisk(t, tt.args...)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error = %v, want a usage error saying %q", tt.name, err, tt.msg)
		}
	}
	// No agent there: the error names the socket, after --timeout.
	sock := filepath.Join(t.TempDir(), "none.sock")
	_, _, err := runDisk(t, "list", "--socket", sock, "--timeout", "100ms")
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), sock) {
		t.Errorf("list with no agent: %v", err)
	}
}
