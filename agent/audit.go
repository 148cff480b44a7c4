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

// auditRecord is one line of the audit log. A destructive call that is
// allowed gets two lines with the same ID: the decision, written before the
// call is sent to SPDK, and the result.
type auditRecord struct {
	Time   time.Time       `json:"time"`
	ID     uint64          `json:"id"`
	Stage  string          `json:"stage"` // "decision" or "result"
	UID    *uint32         `json:"uid,omitempty"`
	GID    *uint32         `json:"gid,omitempty"`
	PID    *int32          `json:"pid,omitempty"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
	// Forwarded are the params sent to SPDK when the guard named the
	// objects canonically (by UUID), on the decision line.
	Forwarded string `json:"forwarded,omitempty"`
	Decision  string `json:"decision,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Result    string `json:"result,omitempty"`
	Error     string `json:"error,omitempty"`
}

// auditor appends records to the audit log and the structured log.
type auditor struct {
	log    *slog.Logger
	nextID atomic.Uint64
	// count is called after each record, for metrics; may be nil.
	count func(stage, decision string)

	mu sync.Mutex // protects f and serializes writes
	f  *os.File
}

func openAuditor(path string, log *slog.Logger) (*auditor, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("agent: open audit log: %w", err)
	}
	return &auditor{log: log, f: f}, nil
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
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("agent: audit record for %s: %w", r.Method, err)
	}
	attrs := []any{"id", r.ID, "stage", r.Stage, "method", r.Method, "params", string(r.Params)}
	if r.UID != nil {
		attrs = append(attrs, "uid", *r.UID, "gid", *r.GID, "pid", *r.PID)
	}
	for _, kv := range [][2]string{{"decision", r.Decision}, {"rule", r.Rule}, {"reason", r.Reason}, {"result", r.Result}, {"error", r.Error}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0], kv[1])
		}
	}
	a.log.Info("audit", attrs...)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return fmt.Errorf("agent: audit log closed, refusing %s", r.Method)
	}
	if _, err := a.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("agent: write audit log: %w", err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("agent: sync audit log: %w", err)
	}
	if a.count != nil {
		a.count(r.Stage, r.Decision)
	}
	return nil
}

func (a *auditor) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	return err
}
