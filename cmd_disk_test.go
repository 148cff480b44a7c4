package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/agent"
	"github.com/spdk-agent/spdk-agent/diskid"
)

func runDisk(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := diskMain(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestDisk_usageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no subcommand", nil, "missing subcommand"},
		{"unknown subcommand", []string{"frob"}, `unknown disk subcommand "frob"`},
		{"bad output", []string{"list", "-o", "yaml"}, "want text or json"},
		{"bad prefix length", []string{"list", "--prefix-len", "0"}, "--prefix-len 0"},
		{"unknown flag", []string{"list", "--nope"}, "nope"},
		{"init without path", []string{"init"}, "at least one"},
		{"regenerate without force", []string{"regenerate", dir}, "--force"},
		{"regenerate two paths", []string{"regenerate", dir, dir, "--force"}, "exactly one"},
		{"list with an argument", []string{"list", dir}, "--disk PATH"},
	}
	for _, tt := range tests {
		_, _, err := runDisk(t, tt.args...)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error = %v, want a usage error saying %q", tt.name, err, tt.msg)
		}
	}
	// Through runMain, usage errors exit with 2.
	var stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"disk", "regenerate", dir}, &stderr); code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
}

func TestDisk_initListCheckRegenerate(t *testing.T) {
	root := t.TempDir()
	d1, d2 := filepath.Join(root, "d1"), filepath.Join(root, "d2")
	for _, d := range []string{d1, d2} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err := runDisk(t, "init", d1, d2, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep agent.DiskReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("init -o json: %v\n%s", err, out)
	}
	if len(rep.Disks) != 2 || rep.Disks[0].State != diskid.StateOK || rep.Disks[0].Prefix == rep.Disks[1].Prefix {
		t.Fatalf("after init: %+v", rep.Disks)
	}
	u1 := rep.Disks[0].UUID

	// A registry from another node with d1's prefix: check fails and says why.
	reg := filepath.Join(root, "registry.json")
	entry := string(u1[:4]) + "0000-0000-4000-8000-000000000000"
	if err := os.WriteFile(reg, []byte(`{"disks":[{"uuid":"`+entry+`","node":"other","disk":"x"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SPDK_AGENT_REGISTRY", reg)
	out, _, err = runDisk(t, "check", "--disk", d1, "--disk", d2)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), d1) {
		t.Fatalf("check with a collision: %v", err)
	}
	if !strings.Contains(out, "prefix-collision") || !strings.Contains(out, "other/x") {
		t.Errorf("check output does not show the collision:\n%s", out)
	}
	// list reports the same but succeeds, and check leaves the disk alone.
	if _, _, err := runDisk(t, "list", "--disk", d1); err != nil {
		t.Errorf("list: %v", err)
	}
	if id, _ := diskid.ReadIdentity(d1); id.UUID != u1 {
		t.Fatalf("check changed the identity to %s", id.UUID)
	}

	// regenerate PATH --force fixes it; check is then clean.
	out, _, err = runDisk(t, "regenerate", d1, "--force", "--disk", d2)
	if err != nil || !strings.Contains(out, string(u1)) {
		t.Fatalf("regenerate: %v\n%s", err, out)
	}
	if id, _ := diskid.ReadIdentity(d1); id.UUID == u1 || id.UUID.Prefix(4) == u1.Prefix(4) {
		t.Fatalf("regenerated identity %s still shares the prefix", id.UUID)
	}
	if out, _, err := runDisk(t, "check", "--disk", d1, "--disk", d2); err != nil {
		t.Fatalf("check after regenerate: %v\n%s", err, out)
	}
}

func TestDisk_initReportsDamagedIdentity(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, diskid.IdentityFile)
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"disk", "init", dir}, &stderr); code != 1 {
		t.Fatalf("exit code = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), file) || !strings.Contains(stderr.String(), "empty") {
		t.Errorf("error does not name the file and the problem: %s", stderr.String())
	}
}
