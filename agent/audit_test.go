package agent

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// fakeAuditFile records the audit log's lines and fsyncs. Its first Sync
// waits for release; each Sync notes how many lines had been written when
// it began, which is what it makes durable.
type fakeAuditFile struct {
	mu      sync.Mutex
	lines   []string
	durable int // lines covered by the syncs that returned
	syncs   int
	failAt  int // the failAt-th Sync fails (0: none)

	first     sync.Once
	release   chan struct{}
	wantLines int
	allIn     chan struct{} // closed when wantLines lines are written
}

func (f *fakeAuditFile) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, string(b))
	if len(f.lines) == f.wantLines && f.allIn != nil {
		close(f.allIn)
	}
	return len(b), nil
}

func (f *fakeAuditFile) Sync() error {
	f.mu.Lock()
	f.syncs++
	n, covers := f.syncs, len(f.lines)
	f.mu.Unlock()
	if f.release != nil {
		f.first.Do(func() { <-f.release })
	}
	if n == f.failAt {
		return errors.New("injected EIO")
	}
	f.mu.Lock()
	f.durable = max(f.durable, covers)
	f.mu.Unlock()
	return nil
}

func (f *fakeAuditFile) Close() error { return nil }

// lineOf returns the index (1-based) of the record with id.
func (f *fakeAuditFile) lineOf(t *testing.T, id uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, l := range f.lines {
		var r auditRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.ID == id {
			return i + 1
		}
	}
	t.Fatalf("record %d not in the log", id)
	return 0
}

func testAuditor(f auditFile) *auditor {
	return &auditor{log: slog.New(slog.NewTextHandler(io.Discard, nil)), run: "test", f: f}
}

// Writers that arrive while an fsync runs share the next one: 64 records
// written together cost at most two fsyncs, and each writer returns only
// once an fsync begun after its record was written has returned.
func TestAuditor_groupCommit(t *testing.T) {
	const writers = 64
	f := &fakeAuditFile{release: make(chan struct{}), wantLines: writers, allIn: make(chan struct{})}
	a := testAuditor(f)
	durableAtReturn := make([]int, writers)
	ids := make([]uint64, writers)
	var wg sync.WaitGroup
	for i := range writers {
		ids[i] = uint64(i + 1)
		wg.Go(func() {
			r := a.newRecord(spdkserver.PeerCred{}, "bdev_lvol_delete", json.RawMessage(`{"name":"x"}`))
			r.ID, r.Stage = ids[i], "decision"
			if err := a.write(r); err != nil {
				t.Errorf("write %d: %v", i, err)
			}
			f.mu.Lock()
			durableAtReturn[i] = f.durable
			f.mu.Unlock()
		})
	}
	<-f.allIn // every record is written; the first fsync still waits
	close(f.release)
	wg.Wait()
	// The first fsync covers what was written when it began (at least its
	// own record); the second, everyone who came meanwhile.
	if f.syncs < 1 || f.syncs > 2 {
		t.Errorf("%d writers made %d fsyncs, want at most 2", writers, f.syncs)
	}
	for i := range writers {
		if line := f.lineOf(t, ids[i]); durableAtReturn[i] < line {
			t.Errorf("writer %d returned when %d lines were durable; its record is line %d", i, durableAtReturn[i], line)
		}
	}
}

// A failed fsync breaks the log for good: the write it covered fails, and
// so does every later one, although the next fsync would succeed.
func TestAuditor_failedSyncBreaksTheLog(t *testing.T) {
	f := &fakeAuditFile{failAt: 2}
	a := testAuditor(f)
	rec := func() auditRecord {
		return a.newRecord(spdkserver.PeerCred{}, "bdev_lvol_delete", json.RawMessage(`{"name":"x"}`))
	}
	if err := a.write(rec()); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if err := a.write(rec()); err == nil || !strings.Contains(err.Error(), "injected EIO") {
		t.Fatalf("write whose fsync failed: %v, want the fsync's error", err)
	}
	for range 2 {
		if err := a.write(rec()); err == nil || !strings.Contains(err.Error(), "unusable") {
			t.Fatalf("write after a failed fsync: %v, want the log unusable", err)
		}
	}
	if f.syncs != 2 || len(f.lines) != 2 {
		t.Errorf("after the failure: %d fsyncs and %d lines, want 2 and 2 (nothing more written)", f.syncs, len(f.lines))
	}
}
