package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// auditFileName is the audit log in the state directory: one JSON object per
// line, fsynced before the call it describes goes on.
const auditFileName = "audit.log"

// Decisions recorded in the audit log.
const (
	decisionAllowed = "allowed"
	decisionRefused = "refused"
)

// Stages of audit records besides "decision" and "result".
const (
	// stageStart opens every run of the agent: its Run pairs the run's
	// records, since IDs start at 1 with each run.
	stageStart = "start"
	// stageUnknown is written at start for each allowed decision of the
	// previous run that has no result: the agent stopped (a kill, a crash)
	// between sending the call and recording what SPDK answered.
	stageUnknown = "outcome-unknown"
)

// auditRecord is one line of the audit log. A destructive call that is
// allowed gets two lines with the same Run and ID: the decision, written
// before the call is sent to SPDK, and the result.
type auditRecord struct {
	Time  time.Time `json:"time"`
	Run   string    `json:"run"`
	ID    uint64    `json:"id"`
	Stage string    `json:"stage"` // "decision", "result", "start" or "outcome-unknown"
	// PrevRun and PrevID name, on an outcome-unknown record, the decision
	// left without a result.
	PrevRun string          `json:"prev_run,omitempty"`
	PrevID  uint64          `json:"prev_id,omitempty"`
	UID     *uint32         `json:"uid,omitempty"`
	GID     *uint32         `json:"gid,omitempty"`
	PID     *int32          `json:"pid,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
	// Forwarded are the params sent to SPDK when the guard named the
	// objects canonically (by UUID), on the decision line.
	Forwarded string `json:"forwarded,omitempty"`
	Decision  string `json:"decision,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Result    string `json:"result,omitempty"`
	Error     string `json:"error,omitempty"`
}

// auditFile is what the auditor needs of its file (an *os.File).
type auditFile interface {
	Write(b []byte) (int, error)
	Sync() error
	Close() error
}

// auditor appends records to the audit log and the structured log.
//
// Records are written in order and each write returns once its record is
// on disk, but concurrent writers share fsyncs (group commit): a writer
// whose record an fsync begun after it already covers returns without one
// of its own. Many guarded calls deciding at once then cost a few fsyncs,
// not one each in a row.
type auditor struct {
	log    *slog.Logger
	run    string // this run's id, on every record
	nextID atomic.Uint64
	// count is called after each record, for metrics; may be nil.
	count func(stage, decision string)

	mu      sync.Mutex // protects the fields below; held for writes, not fsyncs
	f       auditFile
	written uint64 // records written to f
	// broken is the first write or fsync error: after a failed fsync what
	// reached the disk is unknown (Linux may drop the dirty pages and
	// report success next time), so the log accepts nothing more.
	broken error

	syncMu sync.Mutex // one fsync at a time; taken before mu, never after
	synced uint64     // records known to be on disk; written under both locks
}

// openAuditor opens the audit log at path, writes the run's start record
// and an outcome-unknown record for each decision the previous run left
// without a result.
func openAuditor(path string, log *slog.Logger) (*auditor, error) {
	unpaired, err := unpairedDecisions(path)
	if err != nil {
		log.Warn("audit log: cannot look for decisions left without a result", "err", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("agent: open audit log: %w", err)
	}
	a := &auditor{log: log, f: f, run: newRunID()}
	if err := a.write(auditRecord{Stage: stageStart, Reason: "agent " + Version + " started"}); err != nil {
		f.Close()
		return nil, err
	}
	for _, d := range unpaired {
		r := auditRecord{Stage: stageUnknown, PrevRun: d.Run, PrevID: d.ID, Method: d.Method, Params: d.Params,
			Forwarded: d.Forwarded, UID: d.UID, GID: d.GID, PID: d.PID,
			Reason: "the agent stopped after allowing this call and before recording SPDK's answer"}
		if err := a.write(r); err != nil {
			f.Close()
			return nil, err
		}
	}
	return a, nil
}

// newRecord starts a record for one call by peer.
func (a *auditor) newRecord(peer spdkserver.PeerCred, method string, params json.RawMessage) auditRecord {
	r := auditRecord{ID: a.nextID.Add(1), Method: method, Params: params}
	if peer.OK {
		uid, gid, pid := peer.UID, peer.GID, peer.PID
		r.UID, r.GID, r.PID = &uid, &gid, &pid
	}
	return r
}

// write appends r (fsynced) and logs it. A failure to write the audit log is
// returned so that the caller refuses the call rather than act unrecorded.
func (a *auditor) write(r auditRecord) error {
	r.Time = time.Now().UTC()
	r.Run = a.run
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("agent: audit record for %s: %w", r.Method, err)
	}
	attrs := []any{"run", r.Run, "id", r.ID, "stage", r.Stage, "method", r.Method, "params", string(r.Params)}
	if r.UID != nil {
		attrs = append(attrs, "uid", *r.UID, "gid", *r.GID, "pid", *r.PID)
	}
	for _, kv := range [][2]string{{"decision", r.Decision}, {"rule", r.Rule}, {"reason", r.Reason}, {"result", r.Result}, {"error", r.Error}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0], kv[1])
		}
	}
	a.log.Info("audit", attrs...)
	seq, err := a.append(append(b, '\n'), r.Method)
	if err != nil {
		return err
	}
	if err := a.syncThrough(seq); err != nil {
		return err
	}
	if a.count != nil {
		a.count(r.Stage, r.Decision)
	}
	return nil
}

// append writes one line and returns its sequence number.
func (a *auditor) append(line []byte, method string) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.f == nil:
		return 0, fmt.Errorf("agent: audit log closed, refusing %s", method)
	case a.broken != nil:
		return 0, fmt.Errorf("agent: audit log unusable since an earlier failure, refusing %s: %w", method, a.broken)
	}
	if _, err := a.f.Write(line); err != nil {
		a.broken = fmt.Errorf("write audit log: %w", err)
		return 0, fmt.Errorf("agent: %w", a.broken)
	}
	a.written++
	return a.written, nil
}

// syncThrough returns once record seq is on disk: at once when an fsync
// begun after it was written has succeeded, else after one of its own,
// which covers every record written before it began.
func (a *auditor) syncThrough(seq uint64) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	a.mu.Lock()
	f, through, synced, broken := a.f, a.written, a.synced, a.broken
	a.mu.Unlock()
	switch {
	case synced >= seq:
		return nil
	case broken != nil:
		return fmt.Errorf("agent: audit log unusable: %w", broken)
	case f == nil:
		return fmt.Errorf("agent: audit log closed before record %d was synced", seq)
	}
	err := f.Sync()
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if a.broken == nil {
			a.broken = fmt.Errorf("sync audit log: %w", err)
		}
		return fmt.Errorf("agent: %w", a.broken)
	}
	a.synced = through
	return nil
}

func (a *auditor) close() error {
	a.syncMu.Lock() // no fsync runs on a closed file
	defer a.syncMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	return err
}
