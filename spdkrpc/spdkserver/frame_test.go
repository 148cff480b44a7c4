package spdkserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// splitAll feeds chunks one by one and collects every value returned, up to
// the first error.
func splitAll(chunks ...string) (values []string, err error) {
	var s Splitter
	for _, c := range chunks {
		s.Write([]byte(c))
		for {
			v, err := s.Next()
			if err != nil {
				return values, err
			}
			if v == nil {
				break
			}
			values = append(values, string(v))
		}
	}
	return values, nil
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		values []string
		err    error
	}{
		{"touching", `{"a":1}{"b":[]}`, []string{`{"a":1}`, `{"b":[]}`}, nil},
		{"whitespace", " \t\r\n{}\n [ ] \n", []string{`{}`, `[ ]`}, nil},
		{"incomplete waits", `{"a":[1,2`, nil, nil},
		{"incomplete literal waits", `[tru`, nil, nil},
		{"top-level number ends at end of input", `42`, []string{`42`}, nil},
		{"top-level numbers and strings", `-1.5e+3"x"0 7`, []string{`-1.5e+3`, `"x"`, `0`, `7`}, nil},
		{"leading zero splits at top level", `01`, []string{`0`, `1`}, nil},
		{"literals", `true false null`, []string{`true`, `false`, `null`}, nil},
		{"escapes", `"\"\\\/\b\f\n\r\t\u00eA"`, []string{`"\"\\\/\b\f\n\r\t\u00eA"`}, nil},
		{"utf-8", `"é€😀"`, []string{`"é€😀"`}, nil},
		{"stray close", `}`, nil, ErrSyntax},
		{"garbage", "this is not json\n", nil, ErrSyntax},
		{"valid then garbage", `{"id":1}xx{`, []string{`{"id":1}`}, ErrSyntax},
		{"bare word as member value", `{"method":garbage!!}`, nil, ErrSyntax},
		{"mismatched close", `[1}`, nil, ErrSyntax},
		{"trailing comma", `[1,]`, nil, ErrSyntax},
		{"missing colon", `{"a" 1}`, nil, ErrSyntax},
		{"name not a string", `{a:1}`, nil, ErrSyntax},
		{"comma after open", `{,}`, nil, ErrSyntax},
		{"leading zero in array", `[01]`, nil, ErrSyntax},
		{"bad escape", `"\x"`, nil, ErrSyntax},
		{"bad unicode escape", `"\u12g4"`, nil, ErrSyntax},
		{"control char in string", "\"a\tb\"", nil, ErrSyntax},
		{"invalid utf-8", "\"\xff\"", nil, ErrSyntax},
		{"bad literal", `nul1`, nil, ErrSyntax},
		{"minus alone", `[-]`, nil, ErrSyntax},
		{"dot without digits", `[1.]`, nil, ErrSyntax},
		{"exponent without digits", `[1e+]`, nil, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values, err := splitAll(tt.in)
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
			if strings.Join(values, "|") != strings.Join(tt.values, "|") {
				t.Errorf("values %q, want %q", values, tt.values)
			}
		})
	}
}

// TestSplitter_everySplit cuts a stream at every pair of positions: the
// values must not depend on how the bytes arrive.
func TestSplitter_everySplit(t *testing.T) {
	stream := ` {"jsonrpc":"2.0","id":-1.5e3,"method":"x","params":{"a":[true,null,"\u00e9\\"]}}` + "\n" + `[{"id":"a"},{}]"s"`
	want, err := splitAll(stream)
	if err != nil || len(want) != 3 {
		t.Fatalf("whole stream: %q, %v", want, err)
	}
	for i := 0; i <= len(stream); i++ {
		for j := i; j <= len(stream); j++ {
			got, err := splitAll(stream[:i], stream[i:j], stream[j:])
			if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("split at %d,%d: %q, %v", i, j, got, err)
			}
		}
	}
}

func TestSplitter_sizeLimit(t *testing.T) {
	pad := func(n int) string { return `"` + strings.Repeat("x", n-2) + `"` }
	tests := []struct {
		name string
		size int
		err  error
	}{
		{"at the limit", MaxRequestSize, nil},
		{"over the limit", MaxRequestSize + 1, ErrRequestTooLarge},
		{"200 KiB", 200 << 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := pad(tt.size)
			// Leading whitespace does not count, and small pieces are
			// checked as they arrive, not only when the value completes.
			var s Splitter
			s.Write([]byte("\n\n"))
			var err error
			for i := 0; i < len(v) && err == nil; i += 4096 {
				s.Write([]byte(v[i:min(i+4096, len(v))]))
				_, err = s.Next()
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
		})
	}
	// An unfinished value that fills the buffer fails without waiting for
	// its end.
	if _, err := splitAll(`[` + strings.Repeat(" ", MaxRequestSize)); !errors.Is(err, ErrRequestTooLarge) {
		t.Errorf("unfinished value: %v, want ErrRequestTooLarge", err)
	}
}

func TestSplitter_valueLimit(t *testing.T) {
	// {"a":[1,...,n]} is 2 (object) + 1 (name) + 2 (array) + n values.
	array := func(n int) string {
		return `{"a":[` + strings.TrimSuffix(strings.Repeat("1,", n), ",") + `]}`
	}
	if _, err := splitAll(array(MaxValues - 5)); err != nil {
		t.Errorf("%d values: %v", MaxValues, err)
	}
	if _, err := splitAll(array(MaxValues - 4)); !errors.Is(err, ErrTooManyValues) {
		t.Errorf("%d values: %v, want ErrTooManyValues", MaxValues+1, err)
	}
}

func TestSplitter_errorIsSticky(t *testing.T) {
	var s Splitter
	s.Write([]byte(`}`))
	if _, err := s.Next(); !errors.Is(err, ErrSyntax) {
		t.Fatalf("error %v, want ErrSyntax", err)
	}
	s.Write([]byte(`{}`))
	if v, err := s.Next(); v != nil || !errors.Is(err, ErrSyntax) {
		t.Errorf("after the error: %q, %v", v, err)
	}
}

// FuzzServerInput feeds arbitrary bytes, in two writes, through the
// splitter, the request checks and the answer encoder. It must not panic
// or loop; every value it cuts must be valid JSON; every answer line must
// be valid JSON; and the values must not depend on where the stream was
// cut unless a top-level number sits at the cut.
func FuzzServerInput(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"spdk_get_version"}{"id":2,"method":"x","params":{"a":1}}`,
		`[{"id":1,"method":"a"},{"method":"b"},7,[]]`,
		`{"id":{"a":1},"method":"x"} 42 "s" [] {"id":1,"params":"p","method":"m"}`,
		`{"jsonrpc":"2.0","id":1,"method":garbage!!}`,
		"\"\\u00e9\\ud800\"\xff",
	} {
		f.Add([]byte(seed), uint16(len(seed)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		at := int(cut) % (len(in) + 1)
		whole, werr := splitAll(string(in))
		parts, perr := splitAll(string(in[:at]), string(in[at:]))
		for _, v := range parts {
			if !json.Valid([]byte(v)) {
				t.Fatalf("value %q is not valid JSON", v)
			}
			for _, line := range answerLines([]byte(v)) {
				if !json.Valid(line) || bytes.ContainsRune(line, '\n') {
					t.Fatalf("answer %q to %q is not one line of valid JSON", line, v)
				}
			}
		}
		numberAtCut := at > 0 && at < len(in) && strings.ContainsRune("-0123456789.eE+", rune(in[at-1]))
		if !numberAtCut && (strings.Join(whole, "\x00") != strings.Join(parts, "\x00") || (werr == nil) != (perr == nil)) {
			t.Fatalf("cut at %d changed the result: %q, %v; whole: %q, %v", at, parts, perr, whole, werr)
		}
	})
}

// answerLines answers every call in v as the server would, with the params
// as result, or an error for invalid ones.
func answerLines(v []byte) [][]byte {
	calls, batch := decodeMessage(v)
	var parts [][]byte
	for i := range calls {
		cl := &calls[i]
		if cl.notify {
			continue
		}
		var err error
		if cl.invalid {
			err = invalidRequest
		}
		out, eerr := encodeReply(cl.replyID(), cl.params, err)
		if eerr != nil {
			out = []byte("encode error: " + eerr.Error())
		}
		parts = append(parts, out)
	}
	if batch && len(parts) > 0 {
		return [][]byte{joinBatch(parts)}
	}
	return parts
}
