package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// The agent restarted while SPDK is away answers queries from the graph its
// last run saved, marked stale, and is live but not ready.
func TestRestart_servesTheSavedGraphStale(t *testing.T) {
	n := startNode(t, nodeOpts{health: true})
	before := n.status(t).Graph.Lvols
	n.crashSPDK(t)
	n.via.Close()
	if err := n.stopAgent(); err != nil {
		t.Fatal(err)
	}
	n.startAgent(t)

	var reply LvolsReply
	if err := n.via.Call(context.Background(), "agent_get_lvols", nil, &reply); err != nil {
		t.Fatalf("agent_get_lvols after a restart without SPDK: %v", err)
	}
	if len(reply.Lvols) != before || !reply.Status.Stale || reply.Status.SPDKConnected {
		t.Fatalf("restored answer: %d lvols (want %d), stale %v, connected %v", len(reply.Lvols), before, reply.Status.Stale, reply.Status.SPDKConnected)
	}
	if w := strings.Join(reply.Status.Warnings, "; "); !strings.Contains(w, "saved by the agent's last run") {
		t.Errorf("warnings %q do not say the graph is the last run's", w)
	}
	if code, body := n.get(t, "/readyz"); code != 503 {
		t.Errorf("/readyz on the saved graph = %d %q, want 503", code, body)
	}
	if code, body := n.get(t, "/livez?verbose"); code != 200 || !strings.Contains(body, "rpc-socket ok") {
		t.Errorf("/livez on the saved graph = %d %q, want 200 with the rpc-socket check", code, body)
	}

	n.restartSPDK(t)
	n.waitFor(t, "a graph read from SPDK", func(s Status) bool { return s.Graph.Synced })
}

func TestLastGraph_damagedFileIsIgnored(t *testing.T) {
	p := filepath.Join(t.TempDir(), lastGraphFileName)
	if err := os.WriteFile(p, []byte(`{"read_at":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if snap, err := loadLastGraph(p); err == nil || snap != nil {
		t.Fatalf("damaged file: %v, %v; want an error and no snapshot", snap, err)
	}
	if snap, err := loadLastGraph(filepath.Join(t.TempDir(), "none")); err != nil || snap != nil {
		t.Fatalf("missing file: %v, %v; want neither", snap, err)
	}
}

func FuzzParseSavedGraph(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"read_at":"2026-01-01T00:00:00Z"}`,
		`{"read_at":"2026-01-01T00:00:00Z","lvstores":[{"uuid":"x","name":"l"}],"lvols":[{}],"bdevs":[{"name":"b","aliases":["l/a"]}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sg, err := parseSavedGraph([]byte(s))
		if err != nil {
			return
		}
		if sg.ReadAt.IsZero() {
			t.Fatal("accepted a file without read_at")
		}
		if _, err := json.Marshal(sg); err != nil {
			t.Fatal(err)
		}
	})
}

// Each start writes a start record with a new run id, then an
// outcome-unknown record for each decision of the last run without result.
func TestAudit_outcomeUnknownAtNextStart(t *testing.T) {
	p := filepath.Join(t.TempDir(), auditFileName)
	log := slog.New(slog.DiscardHandler)
	a, err := openAuditor(p, log)
	if err != nil {
		t.Fatal(err)
	}
	done := a.newRecord(spdkserver.PeerCred{OK: true, UID: 0, GID: 0, PID: 1}, "bdev_lvol_delete", json.RawMessage(`{"name":"a"}`))
	done.Stage, done.Decision = "decision", decisionAllowed
	cut := a.newRecord(spdkserver.PeerCred{OK: true, UID: 0, GID: 0, PID: 1}, "bdev_lvol_delete", json.RawMessage(`{"name":"b"}`))
	cut.Stage, cut.Decision = "decision", decisionAllowed
	plan := a.newRecord(spdkserver.PeerCred{OK: true, UID: 0, GID: 0, PID: 1}, "agent_apply_cleanup", nil)
	plan.Stage, plan.Decision = "decision", decisionAllowed
	for _, r := range []auditRecord{done, cut, plan} {
		if err := a.write(r); err != nil {
			t.Fatal(err)
		}
	}
	done.Stage, done.Decision, done.Result = "result", "", "true"
	if err := a.write(done); err != nil {
		t.Fatal(err)
	}
	first := a.run
	a.close() // as if killed: cut never gets its result

	b, err := openAuditor(p, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if b.run == first || b.run == "" {
		t.Fatalf("second run id %q, first %q", b.run, first)
	}
	recs := readAuditFile(t, p)
	var starts, unknown []auditRecord
	for _, r := range recs {
		switch r.Stage {
		case stageStart:
			starts = append(starts, r)
		case stageUnknown:
			unknown = append(unknown, r)
		}
		if r.Run == "" {
			t.Errorf("record without run: %+v", r)
		}
	}
	if len(starts) != 2 || starts[1].Run != b.run {
		t.Fatalf("start records %+v, want one per run", starts)
	}
	if len(unknown) != 1 || unknown[0].PrevRun != first || unknown[0].PrevID != cut.ID || string(unknown[0].Params) != `{"name":"b"}` || unknown[0].Run != b.run {
		t.Fatalf("outcome-unknown records %+v, want one for run %s id %d", unknown, first, cut.ID)
	}

	// A third start finds nothing open in the second run.
	b.close()
	c, err := openAuditor(p, log)
	if err != nil {
		t.Fatal(err)
	}
	c.close()
	n := 0
	for _, r := range readAuditFile(t, p) {
		if r.Stage == stageUnknown {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d outcome-unknown records after the third start, want still 1", n)
	}
}

func FuzzParseUnpaired(f *testing.F) {
	f.Add(`{"run":"a","id":1,"stage":"decision","decision":"allowed","method":"bdev_lvol_delete"}` + "\n" + `{"run":"a","id":1,"stage":"result"}`)
	f.Add(`{"run":"a","id":1,"stage":"decision","decision":"allowed","method":"m"}` + "\n{\"run\":")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range parseUnpaired([]byte(s)) {
			if r.Stage != "decision" || r.Decision != decisionAllowed {
				t.Fatalf("unpaired %+v is not an allowed decision", r)
			}
		}
	})
}

// A connected SPDK that stops answering makes the agent unready, never
// unlive: restarting the agent would not make SPDK answer.
func TestHealth_hungSPDKIsNotReadyButLive(t *testing.T) {
	n := startNode(t, nodeOpts{health: true, edit: func(c *Config) { c.CallTimeout = 200 * time.Millisecond }})
	n.sim.SetHang("notify_get_notifications", true)
	n.waitFor(t, "reads that run out of time", func(s Status) bool { return s.SPDK.Unanswered })
	if code, body := n.get(t, "/readyz?verbose"); code != 503 || !strings.Contains(body, "does not answer") {
		t.Errorf("/readyz with SPDK hung = %d %q, want 503 saying SPDK does not answer", code, body)
	}
	if code, body := n.get(t, "/livez?verbose"); code != 200 {
		t.Errorf("/livez with SPDK hung = %d %q, want 200", code, body)
	}
	var reply LvolsReply
	if err := n.via.Call(context.Background(), "agent_get_lvols", nil, &reply); err != nil || len(reply.Lvols) == 0 {
		t.Fatalf("queries with SPDK hung: %d lvols, %v", len(reply.Lvols), err)
	}
	n.sim.ClearFaults()
	n.waitFor(t, "SPDK answering again", func(s Status) bool { return !s.SPDK.Unanswered })
}
