package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// diskList calls agent_disk_list over the agent's socket.
func (n *node) diskList(t testing.TB) DiskReport {
	t.Helper()
	var rep DiskReport
	if err := n.via.Call(context.Background(), "agent_disk_list", nil, &rep); err != nil {
		t.Fatalf("agent_disk_list: %v", err)
	}
	return rep
}

// fsDisk returns the filesystem disk at path from rep.
func fsDisk(rep DiskReport, path string) (diskid.DiskStatus, bool) {
	for _, d := range rep.Disks {
		if d.Kind == diskid.KindFilesystem && d.Path == path {
			return d, true
		}
	}
	return diskid.DiskStatus{}, false
}

// mkdisk makes an empty disk directory under the node's directory.
func mkdisk(t testing.TB, n *node, name string) string {
	t.Helper()
	d := filepath.Join(n.dir, name)
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// spdkErr checks that err is an SPDK-style error with code whose message
// contains every one of parts.
func spdkErr(t testing.TB, err error, code int, parts ...string) {
	t.Helper()
	var se *spdkrpc.Error
	if !errors.As(err, &se) || se.Code != code {
		t.Fatalf("error = %v, want SPDK-style code %d", err, code)
	}
	for _, p := range parts {
		if !strings.Contains(se.Message, p) {
			t.Errorf("message %q does not say %q", se.Message, p)
		}
	}
}

func TestDiskAPI_withoutDiskConfiguration(t *testing.T) {
	n := startNode(t, nodeOpts{noDemo: true, allowSelf: true})
	ctx := context.Background()
	if rep := n.diskList(t); len(rep.Disks) != 0 || rep.Registry.Path != "" {
		t.Fatalf("agent without disks lists %+v", rep)
	}
	d := mkdisk(t, n, "first")
	var st diskid.DiskStatus
	if err := n.via.Call(ctx, "agent_disk_init", map[string]string{"path": d}, &st); err != nil {
		t.Fatalf("agent_disk_init: %v", err)
	}
	id, err := diskid.ReadIdentity(d)
	if err != nil {
		t.Fatalf("no identity written: %v", err)
	}
	if st.Path != d || st.UUID != id.UUID || st.State != diskid.StateOK {
		t.Fatalf("init answered %+v; the file holds %s", st, id.UUID)
	}
	got, ok := fsDisk(n.diskList(t), d)
	if !ok || got.UUID != id.UUID {
		t.Fatalf("agent_disk_list after init: %+v (found %v)", got, ok)
	}
	// A second init keeps the identity.
	if err := n.via.Call(ctx, "agent_disk_init", map[string]string{"path": d + "/"}, &st); err != nil || st.UUID != id.UUID {
		t.Fatalf("second init = %+v, %v; want the same UUID %s", st, err, id.UUID)
	}
	recs := readAudit(t, n)
	last := recs[len(recs)-1]
	if last.Method != "agent_disk_init" || last.Stage != "result" || !strings.Contains(last.Result, string(id.UUID)) || last.UID == nil {
		t.Errorf("last audit record = %+v, want the init's result with the caller", last)
	}
}

func TestDiskAPI_badRequests(t *testing.T) {
	n := startNode(t, nodeOpts{noDemo: true, allowSelf: true})
	ctx := context.Background()
	damaged := mkdisk(t, n, "damaged")
	if err := os.WriteFile(filepath.Join(damaged, diskid.IdentityFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := mkdisk(t, n, "unknown")
	missing := filepath.Join(n.dir, "missing")
	tests := []struct {
		name   string
		method string
		params string // raw JSON; empty: none
		code   int
		parts  []string
	}{
		{"list takes no params", "agent_disk_list", `{}`, -32602, []string{"requires no parameters"}},
		{"check takes no params", "agent_disk_check", `{"path":"/x"}`, -32602, []string{"requires no parameters"}},
		{"init without params", "agent_disk_init", ``, -32602, []string{"params are required"}},
		{"init without path", "agent_disk_init", `{}`, -32602, []string{`"path"`, "required"}},
		{"init relative path", "agent_disk_init", `{"path":"disk1"}`, -32602, []string{`"disk1"`, "not absolute"}},
		{"init unknown key", "agent_disk_init", `{"path":"/x","force":true}`, -32602, []string{"force"}},
		{"init params not an object", "agent_disk_init", `["/x"]`, -32602, []string{"JSON object"}},
		{"regenerate unknown key", "agent_disk_regenerate", `{"path":"/x","forse":true}`, -32602, []string{"forse"}},
		{"regenerate wrong type", "agent_disk_regenerate", `{"path":"/x","force":"yes"}`, -32602, []string{"force"}},
		{"regenerate unknown disk", "agent_disk_regenerate", `{"path":"` + unknown + `","force":true}`, -19, []string{"No such device", unknown, "agent_disk_init"}},
		{"init missing directory", "agent_disk_init", `{"path":"` + missing + `"}`, -2, []string{"No such file or directory", missing}},
		{"init damaged identity", "agent_disk_init", `{"path":"` + damaged + `"}`, -5, []string{"Input/output error", filepath.Join(damaged, diskid.IdentityFile), "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var params json.RawMessage
			if tt.params != "" {
				params = json.RawMessage(tt.params)
			}
			_, err := n.via.CallRaw(ctx, tt.method, params)
			spdkErr(t, err, tt.code, tt.parts...)
		})
	}
	// Failed inits leave nothing behind: the agent does not manage the
	// disks, and the damaged file is untouched.
	rep := n.diskList(t)
	for _, p := range []string{missing, damaged, unknown} {
		if d, ok := fsDisk(rep, p); ok {
			t.Errorf("%s is managed after a failed call: %+v", p, d)
		}
	}
	if b, err := os.ReadFile(filepath.Join(damaged, diskid.IdentityFile)); err != nil || len(b) != 0 {
		t.Errorf("damaged identity changed: %q, %v", b, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("missing disk directory was created: %v", err)
	}
}

func TestDiskAPI_callerNotAllowed(t *testing.T) {
	n := startNode(t, nodeOpts{noDemo: true, disk: true})
	disk := n.cfg.Disks[0]
	before := n.waitDisk(t, disk, func(d diskid.DiskStatus) bool { return d.UUID != "" })
	fresh := mkdisk(t, n, "fresh")
	stranger := spdkserver.PeerCred{OK: true, UID: 4242, GID: 4242, PID: 7}
	for _, c := range []struct{ method, params string }{
		{"agent_disk_init", `{"path":"` + fresh + `"}`},
		{"agent_disk_regenerate", `{"path":"` + disk + `","force":true}`},
	} {
		_, err := n.agent.handle(context.Background(), &spdkserver.Request{Method: c.method, Params: json.RawMessage(c.params), Peer: stranger})
		f := refusedWith(t, err, ruleCallerNotAllowed)
		if f.Method != c.method || !strings.Contains(f.Reason, "uid 4242") {
			t.Errorf("%s refusal = %+v", c.method, f)
		}
		recs := readAudit(t, n)
		last := recs[len(recs)-1]
		if last.Method != c.method || last.Decision != decisionRefused || last.UID == nil || *last.UID != 4242 {
			t.Errorf("%s: last audit record = %+v, want the refusal of uid 4242", c.method, last)
		}
	}
	// Reads stay open to the stranger.
	if _, err := n.agent.handle(context.Background(), &spdkserver.Request{Method: "agent_disk_list", Peer: stranger}); err != nil {
		t.Errorf("agent_disk_list refused: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fresh, diskid.IdentityFile)); !os.IsNotExist(err) {
		t.Errorf("refused init wrote an identity: %v", err)
	}
	if id, err := diskid.ReadIdentity(disk); err != nil || id.UUID != before.UUID {
		t.Errorf("refused regenerate changed the identity: %s, %v (was %s)", id.UUID, err, before.UUID)
	}
}

// waitDisk polls agent_disk_list until the filesystem disk at path
// satisfies cond (at most 5 s) and returns it.
func (n *node) waitDisk(t testing.TB, path string, cond func(diskid.DiskStatus) bool) diskid.DiskStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, ok := fsDisk(n.diskList(t), path)
		if ok && cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for disk %s; last %+v (listed %v)", path, d, ok)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDiskAPI_regenerate(t *testing.T) {
	n := startNode(t, nodeOpts{noDemo: true, disk: true, allowSelf: true})
	ctx := context.Background()
	disk := n.cfg.Disks[0]
	before := n.waitDisk(t, disk, func(d diskid.DiskStatus) bool { return d.UUID != "" })
	// Something besides the identity: the disk is in use.
	if err := os.WriteFile(filepath.Join(disk, "aio0.img"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := n.via.CallRaw(ctx, "agent_disk_regenerate", params("path", disk))
	f := refusedWith(t, err, ruleDiskInUse)
	if !strings.Contains(f.Reason, "aio0.img") || !strings.Contains(f.Reason, disk) {
		t.Errorf("refusal does not name the disk and what is on it: %+v", f)
	}
	if id, _ := diskid.ReadIdentity(disk); id.UUID != before.UUID {
		t.Fatalf("refused regenerate changed the identity to %s", id.UUID)
	}
	recs := readAudit(t, n)
	if last := recs[len(recs)-1]; last.Stage != "result" || last.Rule != ruleDiskInUse || !strings.Contains(last.Error, "in use") {
		t.Errorf("audit of the refused regenerate = %+v", last)
	}

	var r DiskRegenerated
	if err := n.via.Call(ctx, "agent_disk_regenerate", map[string]any{"path": disk, "force": true}, &r); err != nil {
		t.Fatalf("agent_disk_regenerate with force: %v", err)
	}
	id, err := diskid.ReadIdentity(disk)
	if err != nil || r.OldUUID != before.UUID || r.NewUUID != id.UUID || r.NewUUID == r.OldUUID || r.Path != disk {
		t.Fatalf("regenerate answered %+v; file holds %s (%v), was %s", r, id.UUID, err, before.UUID)
	}
	if got, _ := fsDisk(n.diskList(t), disk); got.UUID != r.NewUUID {
		t.Errorf("agent_disk_list after regenerate shows %s, want %s", got.UUID, r.NewUUID)
	}
	// Decision before, result after, with the caller, the old and the new UUID.
	recs = readAudit(t, n)
	dec, res := recs[len(recs)-2], recs[len(recs)-1]
	if dec.ID != res.ID || dec.Stage != "decision" || dec.Decision != decisionAllowed || dec.Method != "agent_disk_regenerate" || dec.UID == nil {
		t.Errorf("audit decision = %+v", dec)
	}
	var got DiskRegenerated
	if err := json.Unmarshal([]byte(res.Result), &got); err != nil || got != r {
		t.Errorf("audit result = %q (%v), want %+v", res.Result, err, r)
	}
}

func TestDiskAPI_checkSeesDamageNow(t *testing.T) {
	n := startNode(t, nodeOpts{noDemo: true, disk: true})
	disk := n.cfg.Disks[0]
	n.waitDisk(t, disk, func(d diskid.DiskStatus) bool { return d.State == diskid.StateOK && d.UUID != "" })
	if err := os.WriteFile(filepath.Join(disk, diskid.IdentityFile), []byte(`{"version":1,"uu`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The periodic recheck is a minute away; agent_disk_check does it now,
	// and needs no place on the allow list (the test's uid is not on it).
	var rep DiskReport
	if err := n.via.Call(context.Background(), "agent_disk_check", nil, &rep); err != nil {
		t.Fatalf("agent_disk_check: %v", err)
	}
	d, ok := fsDisk(rep, disk)
	if !ok || d.State != diskid.StateFailed || !d.Has(diskid.CondIdentityInvalid) {
		t.Fatalf("agent_disk_check reports %+v, want the disk failed with identity-invalid", d)
	}
	if bad := rep.Problems(); len(bad) != 1 || !strings.Contains(bad[0], disk) {
		t.Errorf("Problems() = %q", bad)
	}
	if d2, _ := fsDisk(n.diskList(t), disk); d2.State != diskid.StateFailed {
		t.Errorf("agent_disk_list after the check: %+v", d2)
	}
}

func TestDiskAPI_registryCollision(t *testing.T) {
	regDir, err := os.MkdirTemp("", "reg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(regDir) })
	reg := filepath.Join(regDir, "registry.json")
	writeRegistry := func(entries ...diskid.RegistryEntry) {
		t.Helper()
		// Replaced by rename, as a ConfigMap update is.
		tmp := reg + ".tmp"
		if err := os.WriteFile(tmp, diskid.Registry{Disks: entries}.Marshal(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, reg); err != nil {
			t.Fatal(err)
		}
	}
	far := diskid.RegistryEntry{UUID: "0000aaaa-0000-4000-8000-000000000001", Node: "node-2", Disk: "nvme0"}
	writeRegistry(far)
	var unused, inUse string
	n := startNode(t, nodeOpts{noDemo: true, disk: true, edit: func(c *Config) {
		c.Registry, c.Node = reg, "node-1"
		inUse = filepath.Join(filepath.Dir(c.Disks[0]), "disk2")
		if err := os.Mkdir(inUse, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inUse, "aio0.img"), []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
		unused = c.Disks[0]
		c.Disks = append(c.Disks, inUse)
	}})
	u1 := n.waitDisk(t, unused, func(d diskid.DiskStatus) bool { return d.UUID != "" })
	u2 := n.waitDisk(t, inUse, func(d diskid.DiskStatus) bool { return d.UUID != "" })
	if rep := n.diskList(t); !rep.Registry.Good || rep.Registry.Disks != 1 {
		t.Fatalf("registry before the update: %+v", rep.Registry)
	}

	// Another node's disks now share both local prefixes.
	same := func(u diskid.DiskUUID) diskid.DiskUUID {
		return diskid.DiskUUID(string(u[:4]) + "ffff-ffff-4fff-bfff-ffffffffffff")
	}
	writeRegistry(far,
		diskid.RegistryEntry{UUID: same(u1.UUID), Node: "node-3", Disk: "nvme1"},
		diskid.RegistryEntry{UUID: same(u2.UUID), Node: "node-3", Disk: "nvme2"})

	// The unused disk yields and gets a new UUID; the one in use keeps its
	// UUID and reports the collision.
	d2 := n.waitDisk(t, inUse, func(d diskid.DiskStatus) bool { return d.Has(diskid.CondPrefixCollision) })
	if d2.UUID != u2.UUID || d2.State != diskid.StateCollision || !strings.Contains(d2.Conditions[0].Message, "node-3/nvme2") {
		t.Errorf("disk in use after the update: %+v", d2)
	}
	d1 := n.waitDisk(t, unused, func(d diskid.DiskStatus) bool { return d.UUID != u1.UUID })
	if d1.State != diskid.StateOK || d1.Prefix == u1.Prefix {
		t.Errorf("unused disk after the update: %+v (was %s)", d1, u1.UUID)
	}
	if id, _ := diskid.ReadIdentity(unused); id.UUID != d1.UUID {
		t.Errorf("file holds %s, agent reports %s", id.UUID, d1.UUID)
	}
	rep := n.diskList(t)
	if rep.Registry.Disks != 3 || rep.Counters.Regenerations < 1 || rep.Counters.Collisions < 1 {
		t.Errorf("registry %+v counters %+v after the update", rep.Registry, rep.Counters)
	}
}

// FuzzDecodeDiskPath: any params of agent_disk_init and _regenerate decode
// to a clean absolute path or are refused as invalid params.
func FuzzDecodeDiskPath(f *testing.F) {
	for _, seed := range []string{``, `{}`, `null`, `[]`, `{"path":"/d"}`, `{"path":"d"}`, `{"path":"/a/../b/","force":true}`,
		`{"path":"/d","force":1}`, `{"path":"/d"}{}`, `{"path":"/d","x":1}`, `{"path":`} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, params string, withForce bool) {
		req := &spdkserver.Request{Method: "agent_disk_regenerate", Params: json.RawMessage(params)}
		p, err := decodeDiskPath(req, withForce)
		if err != nil {
			var se *spdkrpc.Error
			if !errors.As(err, &se) || se.Code != spdkrpc.CodeInvalidParams || se.Message == "" {
				t.Fatalf("%q: error %v is not an invalid-params error", params, err)
			}
			return
		}
		if !filepath.IsAbs(p.Path) || filepath.Clean(p.Path) != p.Path || (!withForce && p.Force) {
			t.Fatalf("%q: decoded %+v", params, p)
		}
	})
}
