package spdkserver_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// transcript is a raw-socket recording of a real spdk_tgt.
type transcript struct {
	SentChunks  []string `json:"sent_chunks"`
	Pause       float64  `json:"pause_between_chunks_s"`
	SentLen     int      `json:"sent_len_bytes"`
	SentHead    string   `json:"sent_head"`
	ReceivedRaw string   `json:"received_raw"`
	Closed      bool     `json:"server_closed_connection"`
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func normalizeUUIDs(b []byte) string { return uuidRE.ReplaceAllString(string(b), "<uuid>") }

func loadTranscripts(t *testing.T) map[string]transcript {
	t.Helper()
	files, err := filepath.Glob("../../testdata/spdk-transcripts/*_RAW_*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	out := make(map[string]transcript)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tr transcript
		if err := json.Unmarshal(data, &tr); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if tr.SentChunks == nil {
			tr.SentChunks = []string{rebuildPayload(t, f, tr)}
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = tr
	}
	return out
}

// rebuildPayload recreates the large requests of the size-limit recordings,
// which keep only their head and length. Both shapes are Python's
// json.dumps output: a long "name", or a long array "x" of 0, 1, 2, ...
func rebuildPayload(t *testing.T, file string, tr transcript) string {
	const head = `{"jsonrpc": "2.0", "id": 1, "method": "bdev_get_bdevs", "params": {"name": "`
	var payload string
	if strings.HasPrefix(tr.SentHead, head+`a", "x": [`) {
		var b strings.Builder
		b.WriteString(head + `a", "x": [`)
		for i := 0; b.Len()+len(strconv.Itoa(i))+2 <= tr.SentLen; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Itoa(i))
		}
		b.WriteString("]}}")
		payload = b.String()
	} else if strings.HasPrefix(tr.SentHead, head) {
		fill := tr.SentHead[len(head) : len(head)+1]
		payload = head + strings.Repeat(fill, tr.SentLen-len(head)-3) + `"}}`
	}
	if len(payload) != tr.SentLen || !strings.HasPrefix(payload, tr.SentHead) {
		t.Fatalf("%s: cannot rebuild the %d-byte request from its head", file, tr.SentLen)
	}
	return payload
}

// TestServer_transcripts replays every raw-socket recording and compares
// the bytes received and whether the connection was closed, with polling
// off and at SPDK's 4 ms.
func TestServer_transcripts(t *testing.T) {
	trs := loadTranscripts(t)
	for _, poll := range []time.Duration{0, 4 * time.Millisecond} {
		f := startServer(t, spdkserver.Options{PollInterval: poll})
		for name, tr := range trs {
			t.Run(poll.String()+"/"+name, func(t *testing.T) {
				t.Parallel()
				c := f.dial(t)
				for i, chunk := range tr.SentChunks {
					if i > 0 {
						time.Sleep(time.Duration(tr.Pause * float64(time.Second)))
					}
					if _, err := c.Write([]byte(chunk)); err != nil && !tr.Closed {
						t.Fatalf("write chunk %d: %v", i, err)
					}
				}
				want := tr.ReceivedRaw
				got := []byte{}
				if len(want) > 0 {
					got = readN(t, c, len(want), 5*time.Second)
				}
				wait := 100 * time.Millisecond
				if tr.Closed {
					wait = 5 * time.Second
				}
				extra, closed := probe(c, wait)
				got = append(got, extra...)
				if normalizeUUIDs(got) != normalizeUUIDs([]byte(want)) {
					t.Errorf("received\n%q\nwant\n%q", got, want)
				}
				if closed != tr.Closed {
					t.Errorf("server closed the connection: %v, want %v", closed, tr.Closed)
				}
			})
		}
	}
}

// TestServer_pipelinedAsyncOrder checks transcript 134's order byte for
// byte, many times: async answers must come after the synchronous answer
// of a request that arrived with them, deterministically.
func TestServer_pipelinedAsyncOrder(t *testing.T) {
	tr := loadTranscripts(t)["134_RAW_pipelined_async_create_then_sync_version"]
	f := startServer(t, spdkserver.Options{})
	want := normalizeUUIDs([]byte(tr.ReceivedRaw))
	for i := range 50 {
		c := f.dial(t)
		send(t, c, tr.SentChunks[0])
		got := normalizeUUIDs(readN(t, c, len(tr.ReceivedRaw), 5*time.Second))
		if got != want {
			t.Fatalf("round %d: got\n%s\nwant\n%s", i, got, want)
		}
		c.Close()
	}
}

// TestServer_immediateAnswerOfAsyncMethod checks that an async method's
// answer marked Immediate (a parameter SPDK cannot decode) leaves with the
// synchronous answers, as in transcript 133, while a successful async answer
// still waits for them.
func TestServer_immediateAnswerOfAsyncMethod(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	send(t, c, `{"id":1,"method":"async","params":{}}{"id":2,"method":"asyncbad"}{"id":3,"method":"echo","params":{}}`)
	want := []string{
		`{"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"spdk_json_decode_object failed"}}`,
		`{"jsonrpc":"2.0","id":3,"result":{}}`,
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
	}
	for i, w := range want {
		if got := readLine(t, c); got != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, got, w)
		}
	}
}

// TestServer_handlerPanicAnswersInternalError checks that a handler's panic
// costs only its own call: the caller gets SPDK's internal error and the same
// connection goes on serving.
func TestServer_handlerPanicAnswersInternalError(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	send(t, c, `{"id":1,"method":"panic"}{"id":2,"method":"echo","params":{}}`)
	for i, w := range []string{
		`{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error"}}`,
		`{"jsonrpc":"2.0","id":2,"result":{}}`,
	} {
		if got := readLine(t, c); got != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, got, w)
		}
	}
}

// TestServer_replyLinesAreCompact checks the shape rules on answers built
// from arbitrary results: compact, one line, SPDK's member order, no HTML
// escaping, and "data" only when set.
func TestServer_replyLinesAreCompact(t *testing.T) {
	f := startServer(t, spdkserver.Options{})
	c := f.dial(t)
	tests := []struct{ req, want string }{
		{`{"id":1,"method":"echo","params":{ "b" : [1, 2] , "a":"<&>"}}`, `{"jsonrpc":"2.0","id":1,"result":{"b":[1,2],"a":"<&>"}}`},
		{`{"id":"x\u0041","method":"echo","params":[]}`, `{"jsonrpc":"2.0","id":"x\u0041","result":[]}`},
		{`{"id":-1.5e3,"method":"nope"}`, `{"jsonrpc":"2.0","id":-1.5e3,"error":{"code":-32601,"message":"Method not found"}}`},
		{`{"id":2,"method":"bdev_lvol_delete","params":"x"}`, `{"jsonrpc":"2.0","id":2,"error":{"code":-32600,"message":"Invalid request"}}`},
		{`{"id":3,"method":"echo","params":null}`, `{"jsonrpc":"2.0","id":3,"result":null}`}, // null params are no params (checked on spdk_tgt v26.05)
		{`{"id":true,"method":"echo"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}`},
		{`{"id":4,"method":"echo","jsonrpc":2}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}`},
		{`{"id":5,"method":"echo","extra":1}`, `{"jsonrpc":"2.0","id":5,"result":null}`},
		{`null`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}`},
		{`[1,{"id":6,"method":"echo","params":{}}]`, `[{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}},{"jsonrpc":"2.0","id":6,"result":{}}]`},
	}
	for _, tt := range tests {
		send(t, c, tt.req)
		if got := readLine(t, c); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.req, got, tt.want)
		}
	}
	if extra, closed := probe(c, 20*time.Millisecond); len(extra) > 0 || closed {
		t.Errorf("after the table: extra %q, closed %v", extra, closed)
	}
}
