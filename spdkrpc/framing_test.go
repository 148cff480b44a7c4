package spdkrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/creachadair/jrpc2"
)

func decodeAll(r io.Reader, maxSize int) ([]string, error) {
	d := newReplyDecoder(r, maxSize)
	var out []string
	for {
		v, err := d.Next()
		if err != nil {
			return out, err
		}
		out = append(out, string(v))
	}
}

func TestReplyDecoder(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string // "" means a clean io.EOF at the end
	}{
		{"one line each", "{\"id\":1}\n{\"id\":2}\n", []string{`{"id":1}`, `{"id":2}`}, ""},
		{"concatenated", `{"id":1}{"id":2}[{"id":3}]`, []string{`{"id":1}`, `{"id":2}`, `[{"id":3}]`}, ""},
		{"pretty over lines", "\r\n {\n \"id\": 1,\n \"result\": [\"}\", \"\\\"]\"]\n}\n", []string{"{\n \"id\": 1,\n \"result\": [\"}\", \"\\\"]\"]\n}"}, ""},
		{"escaped quote and braces in string", `{"m":"a\"}{[\\"}`, []string{`{"m":"a\"}{[\\"}`}, ""},
		{"unicode escapes", `{"n":"\u00E9"}`, []string{`{"n":"\u00E9"}`}, ""},
		{"garbage value", `{"id":1,"result":garbage}`, nil, "not valid JSON"},
		{"mismatched brackets", `{"a":[1}]`, nil, "not valid JSON"},
		{"garbage between", `{"id":1} xx {"id":2}`, []string{`{"id":1}`}, "object or an array"},
		{"top-level string", `"abc"`, nil, "object or an array"},
		{"unterminated string", "{\"r\":\"lvs/\xc3\n{\"id\":2}\n", nil, "control character"},
		{"truncated", `{"id":1,"result":[`, nil, "unexpected EOF"},
		{"too large", `{"r":"` + strings.Repeat("x", 100) + `"}`, nil, "100 bytes and not ended"},
		// SPDK's cut: the first max bytes of an answer, then the next one.
		{"cut at the limit", (`{"r":"` + strings.Repeat("x", 100))[:100] + `{"id":2}`, nil, "send buffer"},
		{"exactly the limit", `{"r":"` + strings.Repeat("x", 92) + `"}`, []string{`{"r":"` + strings.Repeat("x", 92) + `"}`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in)), iotest.HalfReader(strings.NewReader(tc.in))} {
				got, err := decodeAll(r, 100)
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Errorf("values = %q, want %q", got, tc.want)
				}
				switch {
				case tc.err == "" && err != io.EOF:
					t.Errorf("err = %v, want EOF", err)
				case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
					t.Errorf("err = %v, want one containing %q", err, tc.err)
				}
				if tooLarge := strings.Contains(tc.name, "large") || strings.Contains(tc.name, "cut"); tooLarge != errors.Is(err, ErrReplyTooLarge) {
					t.Errorf("err = %v: errors.Is(err, ErrReplyTooLarge) = %v, want %v", err, !tooLarge, tooLarge)
				}
			}
		})
	}
}

// FuzzDecodeReply checks the reply stream decoder on arbitrary bytes: it
// never panics, everything it returns is valid JSON that appears in the
// input in order, and it agrees value for value with encoding/json's
// stream decoder, so a reply can never be split or merged into another (which
// would hand one call's answer to another).
func FuzzDecodeReply(f *testing.F) {
	for _, s := range []string{
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true}\n",
		`{"jsonrpc":"2.0","id":2,"error":{"code":-19,"message":"No such device"}}{"id":3}`,
		"[{\"id\":1},{\"id\":2}]\n",
		"{\"r\":\"\\\"}{\"}\n{\"id\":\"1\"}",
		"{\"r\":\"\xc3\n",
		`{"a":[1}]`,
		"  \n\t{}",
		`{"a":"\u00E9"}`,
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"two\"}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}\n{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":[3]}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":\"string id\"}{\"jsonrpc\":\"2.0\",\"id\":1.0,\"result\":0}{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":2}{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"dup\"}",
		"[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true},{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-19,\"message\":\"No such device\"}}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, _ := decodeAll(iotest.HalfReader(bytes.NewReader(data)), 1<<16)
		oracle := json.NewDecoder(bytes.NewReader(data))
		rest := data
		for i, v := range got {
			if !json.Valid([]byte(v)) {
				t.Fatalf("value %d is not valid JSON: %q", i, v)
			}
			at := bytes.Index(rest, []byte(v))
			if at < 0 || len(bytes.TrimLeft(rest[:at], " \t\r\n")) != 0 {
				t.Fatalf("value %d %q is not the next value of the input", i, v)
			}
			rest = rest[at+len(v):]
			var want json.RawMessage
			if err := oracle.Decode(&want); err != nil {
				t.Fatalf("value %d %q: encoding/json found none: %v", i, v, err)
			}
			if string(want) != v {
				t.Fatalf("value %d = %q, encoding/json says %q", i, v, want)
			}
		}
		checkMatching(t, data, got)
	})
}

// checkMatching sends three calls over an in-memory connection whose server
// answers with data, and checks that every call that succeeded got the
// result of a reply in the stream carrying its own id. (Which one, when the
// stream repeats an id, is jrpc2's choice: it delivers each read value on
// its own goroutine.)
func checkMatching(t *testing.T, data []byte, values []string) {
	cli, srv := net.Pipe()
	ch := newChannel(cli, 0, MaxReplySize)
	cn := &conn{ch: ch, jc: jrpc2.NewClient(ch, nil)}
	defer cn.close(errConnClosed)

	ids := make(map[string]string) // method -> id, as the server saw them
	go func() {
		defer srv.Close()
		dec := json.NewDecoder(srv)
		for range 3 {
			var req struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
			}
			if dec.Decode(&req) != nil {
				return
			}
			ids[req.Method] = string(req.ID)
		}
		_, _ = srv.Write(data)
	}()
	type outcome struct {
		method string
		res    json.RawMessage
		err    error
	}
	out := make(chan outcome, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range []string{"m0", "m1", "m2"} {
		go func() {
			res, err := cn.call(ctx, m, nil)
			out <- outcome{m, res, err}
		}()
	}
	results := make([]outcome, 0, 3)
	for range 3 {
		results = append(results, <-out)
	}
	// Every reply was read or the stream failed, so the server is done.
	for _, o := range results {
		if o.err != nil {
			continue
		}
		if want := resultsFor(values, ids[o.method]); !slices.Contains(want, string(o.res)) {
			t.Fatalf("call %s (id %s) got %s; the stream's replies for it hold %q", o.method, ids[o.method], o.res, want)
		}
	}
}

// resultsFor returns the results of the reply objects with the id.
func resultsFor(values []string, id string) []string {
	var out []string
	for _, v := range values {
		var msgs []json.RawMessage
		if strings.HasPrefix(v, "[") {
			if json.Unmarshal([]byte(v), &msgs) != nil {
				continue
			}
		} else {
			msgs = []json.RawMessage{json.RawMessage(v)}
		}
		for _, m := range msgs {
			var r struct {
				ID     json.RawMessage `json:"id"`
				Result json.RawMessage `json:"result"`
			}
			if json.Unmarshal(m, &r) == nil && string(r.ID) == id && r.Result != nil {
				out = append(out, string(r.Result))
			}
		}
	}
	return out
}

func TestReplyDecoder_readError(t *testing.T) {
	boom := errors.New("boom")
	_, err := decodeAll(io.MultiReader(strings.NewReader(`{"id":1}{"id"`), iotest.ErrReader(boom)), 100)
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the reader's error", err)
	}
}
