package spdksim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// The recordings of a real spdk_tgt v26.05 (testdata/transcripts) replayed
// against the simulator. Files 001-136 are one session on one target and
// are replayed in order on one fresh simulator; 201-210 on another.

// transcript is one recorded file: either a request/response pair or a
// raw-socket exchange.
type transcript struct {
	Request    json.RawMessage `json:"request"`
	Response   json.RawMessage `json:"response"`
	SentChunks []string        `json:"sent_chunks"`
	Received   string          `json:"received_raw"`
	// FillsBefore is how many thin lvols the recording created, without
	// recording them, before its request (135: "fill0".."fill41").
	FillsBefore int `json:"thin_lvols_created_before_error"`
}

type wireRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

func loadTranscripts(t *testing.T, from, to string) []string {
	t.Helper()
	files, err := filepath.Glob("../../testdata/spdk-transcripts/[0-9]*.json")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []string
	for _, f := range files {
		if b := filepath.Base(f); b[:3] >= from && b[:3] <= to {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no transcripts %s-%s", from, to)
	}
	return out
}

// rawRequests splits a raw exchange's bytes into requests. ok is false when
// the bytes are not a stream of request objects (garbage, truncation,
// invalid requests): those exchanges test framing, which is the server's.
func rawRequests(chunks []string) (reqs []json.RawMessage, ok bool) {
	dec := json.NewDecoder(strings.NewReader(strings.Join(chunks, "")))
	for dec.More() {
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil, false
		}
		items := []json.RawMessage{v}
		if v[0] == '[' {
			if json.Unmarshal(v, &items) != nil || len(items) == 0 {
				return nil, false
			}
		}
		for _, it := range items {
			var w struct {
				JSONRPC *string         `json:"jsonrpc"`
				ID      json.RawMessage `json:"id"`
				Method  *string         `json:"method"`
			}
			if json.Unmarshal(it, &w) != nil || w.Method == nil || (w.JSONRPC != nil && *w.JSONRPC != "2.0") ||
				(len(w.ID) > 0 && (w.ID[0] == '{' || w.ID[0] == '[')) {
				return nil, false
			}
			reqs = append(reqs, it)
		}
	}
	return reqs, true
}

// rawReplies indexes the reply lines of a raw exchange by id.
func rawReplies(t *testing.T, received string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(received, "\n"), "\n") {
		if line == "" {
			continue
		}
		items := []json.RawMessage{json.RawMessage(line)}
		if line[0] == '[' {
			if err := json.Unmarshal([]byte(line), &items); err != nil {
				t.Fatalf("recorded batch %s: %v", line, err)
			}
		}
		for _, it := range items {
			var w wireRequest
			if err := json.Unmarshal(it, &w); err != nil {
				t.Fatalf("recorded reply %s: %v", it, err)
			}
			out[string(w.ID)] = compact(t, it)
		}
	}
	return out
}

// replayer runs recorded requests on one target and collects differences.
type replayer struct {
	t     *testing.T
	tg    *Target
	uuids *uuidMap
	diffs []string
	sent  int // requests compared with a recording
}

// send runs one recorded request; want is the recorded reply line ("" for
// none expected), noReply/crash the recorded silence.
func (r *replayer) send(file string, raw json.RawMessage, want string, expect error) {
	var w wireRequest
	if err := json.Unmarshal([]byte(r.uuids.translate(string(raw))), &w); err != nil {
		r.t.Fatalf("%s: request: %v", file, err)
	}
	res, err := serve(r.tg, w.Method, w.Params)
	r.sent++
	if expect != nil {
		if !errors.Is(err, expect) {
			r.diffs = append(r.diffs, fmt.Sprintf("%s: %s answered %s, %v; recorded: %v", file, w.Method, res, err, expect))
		}
		return
	}
	if len(w.ID) == 0 || string(w.ID) == "null" {
		return // a notification: executed, never answered
	}
	got, ferr := replyLine(w.ID, res, err)
	if ferr != nil {
		r.diffs = append(r.diffs, fmt.Sprintf("%s: %s: %v", file, w.Method, ferr))
		return
	}
	if d := r.uuids.match(want, got); d != "" {
		r.diffs = append(r.diffs, fmt.Sprintf("%s: %s differs: %s", file, w.Method, d))
	}
}

func (r *replayer) replay(file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		r.t.Fatal(err)
	}
	var tr transcript
	if err := json.Unmarshal(b, &tr); err != nil {
		r.t.Fatalf("%s: %v", file, err)
	}
	base := filepath.Base(file)
	switch {
	case tr.SentChunks != nil:
		reqs, ok := rawRequests(tr.SentChunks)
		if !ok {
			r.t.Logf("%s: framing only (no well-formed request), covered by the server's tests", base)
			return
		}
		want := rawReplies(r.t, tr.Received)
		for _, q := range reqs {
			var w wireRequest
			_ = json.Unmarshal(q, &w)
			r.send(base, q, want[string(w.ID)], nil)
		}
	case tr.Request != nil:
		for i := range tr.FillsBefore {
			// Recorded only as a count: recreate them as the recorder did.
			if _, err := call(r.t, r.tg, "bdev_lvol_create", map[string]any{"lvs_name": "lvs0",
				"lvol_name": fmt.Sprintf("fill%d", i), "size_in_mib": 4, "thin_provision": true}); err != nil {
				r.t.Fatalf("%s: fill%d: %v", base, i, err)
			}
		}
		var silent map[string]string
		_ = json.Unmarshal(tr.Response, &silent)
		switch nr := silent["NO_RESPONSE"]; {
		case strings.Contains(nr, "connection closed"):
			r.send(base, tr.Request, "", spdkserver.ErrCrash)
		case nr != "":
			r.send(base, tr.Request, "", spdkserver.ErrNoReply)
		default:
			r.send(base, tr.Request, compact(r.t, tr.Response), nil)
		}
	default:
		r.t.Logf("%s: size-limit framing test, covered by the server's tests", base)
	}
}

func TestConformance_transcripts(t *testing.T) {
	for _, session := range [][2]string{{"001", "142"}, {"201", "210"}} {
		t.Run(session[0]+"-"+session[1], func(t *testing.T) {
			r := &replayer{t: t, tg: NewTarget(Options{}), uuids: newUUIDMap()}
			for _, f := range loadTranscripts(t, session[0], session[1]) {
				r.replay(f)
			}
			for _, d := range r.diffs {
				t.Error(d)
			}
			t.Logf("%d recorded requests replayed, %d UUIDs mapped", r.sent, len(r.uuids.rec2sim))
		})
	}
}

// TestConformance_catchesDifferences makes sure the replay can fail: a
// recording with a changed field must be reported, by name.
func TestConformance_catchesDifferences(t *testing.T) {
	r := &replayer{t: t, tg: NewTarget(Options{}), uuids: newUUIDMap()}
	b, err := os.ReadFile("../../testdata/spdk-transcripts/001_spdk_get_version.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr transcript
	_ = json.Unmarshal(b, &tr)
	r.send("001-altered", tr.Request, string(bytes.Replace([]byte(compact(t, tr.Response)), []byte("26.05"), []byte("26.09"), 1)), nil)
	if len(r.diffs) != 1 || !strings.HasPrefix(r.diffs[0], "001-altered") {
		t.Fatalf("diffs = %q, want one naming 001-altered", r.diffs)
	}
}
