package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDiskAPI_registrationSurvivesRestart checks that a disk registered
// with agent_disk_init is managed again by the next agent on the same state
// directory, and that agent_disk_forget undoes it while refusing --disk disks.
func TestDiskAPI_registrationSurvivesRestart(t *testing.T) {
	n := startNode(t, nodeOpts{noDemo: true, allowSelf: true, disk: true})
	ctx := context.Background()
	second := mkdisk(t, n, "second")
	if err := n.via.Call(ctx, "agent_disk_init", map[string]string{"path": second}, nil); err != nil {
		t.Fatalf("agent_disk_init: %v", err)
	}
	regFile := filepath.Join(n.cfg.StateDir, diskRegFileName)
	regs, err := loadDiskRegistrations(regFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := regs.list(); !slices.Equal(got, []string{second}) {
		t.Fatalf("registered disks = %v, want only %s (the --disk disk belongs to the flags)", got, second)
	}

	next, err := New(n.cfg) // the agent after a restart, same state directory
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := next.disks.Lookup(second); !ok {
		t.Errorf("a restarted agent does not manage %s, registered before the restart", second)
	}
	for _, c := range next.clients { // never run: only its connections to close
		c.Close()
	}
	next.audit.close()

	err = n.via.Call(ctx, "agent_disk_forget", map[string]string{"path": n.cfg.Disks[0]}, nil)
	spdkErr(t, err, -1, "Operation not permitted", ruleDiskConfigured)
	if err := n.via.Call(ctx, "agent_disk_forget", map[string]string{"path": second}, nil); err != nil {
		t.Fatalf("agent_disk_forget: %v", err)
	}
	if _, ok := fsDisk(n.diskList(t), second); ok {
		t.Errorf("%s still listed after agent_disk_forget", second)
	}
	if regs, err = loadDiskRegistrations(regFile); err != nil || len(regs.list()) != 0 {
		t.Errorf("registered disks after forget = %v, %v; want none", regs.list(), err)
	}
	if _, err := os.Stat(filepath.Join(second, "spdk-disk-identity.json")); err != nil {
		t.Errorf("forget must leave the identity file alone: %v", err)
	}
	err = n.via.Call(ctx, "agent_disk_forget", map[string]string{"path": second}, nil)
	spdkErr(t, err, -19, "No such device")
}

// TestDiskAPI_failedInitIsNotRegistered checks that a registration is
// undone when the disk cannot be given an identity.
func TestDiskAPI_failedInitIsNotRegistered(t *testing.T) {
	n := startNode(t, nodeOpts{noDemo: true, allowSelf: true})
	missing := filepath.Join(n.dir, "no-such-disk")
	if err := n.via.Call(context.Background(), "agent_disk_init", map[string]string{"path": missing}, nil); err == nil {
		t.Fatal("agent_disk_init of a missing directory succeeded")
	}
	regs, err := loadDiskRegistrations(filepath.Join(n.cfg.StateDir, diskRegFileName))
	if err != nil || len(regs.list()) != 0 {
		t.Fatalf("registered disks after a failed init = %v, %v; want none", regs.list(), err)
	}
}

func TestLoadDiskRegistrations_badFiles(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"not json", "{", "damaged"},
		{"not a list", `{"a":1}`, "damaged"},
		{"relative path", `["disk1"]`, "not an absolute path"},
		{"empty path", `[""]`, "not an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), diskRegFileName)
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadDiskRegistrations(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error = %v, want one naming %s and saying %q", err, p, tt.want)
			}
		})
	}
}
