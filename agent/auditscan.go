package agent

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
)

// auditTail is how much of the audit log's end is searched for the last
// run's records at start: a run's records are at the end of the log.
const auditTail = 64 << 20

// newRunID returns a random id for this run of the agent.
func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// unpairedDecisions returns the allowed decisions of the log's last run
// that have no result record.
func unpairedDecisions(path string) ([]auditRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var off int64
	if fi.Size() > auditTail {
		off = fi.Size() - auditTail
	}
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return nil, err
	}
	if off > 0 { // the first line is cut
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return parseUnpaired(b), nil
}

// parseUnpaired reads audit lines and returns the allowed decisions of the
// last run without a result, in log order. Lines that are not records
// (a line cut by a crash) are skipped.
func parseUnpaired(b []byte) []auditRecord {
	type key struct {
		run string
		id  uint64
	}
	var (
		order []key
		open  = map[key]auditRecord{}
		last  string
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r auditRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		if r.Stage == stageStart || r.Run != last {
			// A new run: what the older one left open was reported
			// at this run's start.
			last, order = r.Run, nil
			clear(open)
		}
		k := key{r.Run, r.ID}
		switch {
		case r.Stage == "decision" && r.Decision == decisionAllowed && awaitsResult(r.Method):
			open[k] = r
			order = append(order, k)
		case r.Stage == "result":
			delete(open, k)
		}
	}
	var out []auditRecord
	for _, k := range order {
		if r, ok := open[k]; ok {
			out = append(out, r)
		}
	}
	return out
}

// awaitsResult reports whether an allowed decision on method is followed
// by a result record: calls sent to SPDK and disk operations are; the
// plan of a cleanup (its steps are recorded each) and forgetting an
// lvstore (done before it is recorded) are not.
func awaitsResult(method string) bool {
	return !strings.HasPrefix(method, "agent_") || strings.HasPrefix(method, "agent_disk_")
}
