package spdkrpc

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// transcriptDir is where the recordings of a real spdk_tgt live in this
// repository; the simulator and the server replay the same files.
func transcriptDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "testdata", "spdk-transcripts")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("recordings of a real SPDK not found at %s: %v", dir, err)
	}
	return dir
}

// transcript is one recorded exchange.
type transcript struct {
	Request struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	} `json:"request"`
	Response struct {
		Error *Error `json:"error"`
	} `json:"response"`
}

// wantSentinel gives, per recorded error exchange (by file number), the
// sentinel SPDK's answer must map to.
var wantSentinel = map[string]error{
	"045": ErrNotFound, "046": ErrNotPermitted, "048": ErrNotPermitted,
	"049": ErrNotFound, "050": ErrNotFound, "051": ErrExists, "052": ErrNotFound,
	"053": ErrInvalidArgument, "054": ErrNoSpace, "062": ErrInvalidArgument,
	"063": ErrInvalidArgument, "065": ErrExists, "066": ErrNotPermitted,
	"067": ErrNotFound, "068": ErrNotFound, "069": ErrNotFound, "070": ErrNotFound,
	"071": ErrNotFound, "072": ErrExists, "073": ErrInvalidArgument,
	"074": ErrNotFound, "075": ErrNotFound, "077": ErrInvalidArgument,
	"078": ErrNotFound, "080": ErrInvalidArgument, "081": ErrExists,
	"082": ErrInvalidArgument, "083": ErrInvalidArgument, "084": ErrNotFound,
	"085": ErrNotFound, "086": ErrNotFound, "087": ErrNotPermitted,
	"088": ErrNotPermitted, "089": ErrExists, "090": ErrNotFound,
	"091": ErrNotFound, "092": ErrNotFound, "093": ErrNotFound,
	"094": ErrInvalidArgument, "095": ErrMethodNotFound, "096": ErrInvalidParams,
	"097": ErrInvalidParams, "098": ErrInvalidParams, "099": ErrInvalidParams,
	"100": ErrInvalidRequest, "101": ErrInvalidParams, "102": ErrInvalidArgument,
	"135": ErrNoMemory,
}

var allSentinels = []error{ErrNotFound, ErrExists, ErrNotPermitted, ErrBusy, ErrInvalidArgument,
	ErrNoSpace, ErrNoMemory, ErrMethodNotFound, ErrInvalidParams, ErrInvalidRequest}

// TestErrorTable_transcripts replays every recorded SPDK error: the request
// goes through CallRaw to a fake that answers with the recorded error, and
// the result must match exactly one sentinel, the expected one, with the
// original code and message reachable.
func TestErrorTable_transcripts(t *testing.T) {
	dir := transcriptDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Pointer[Error] // the answer for the next request
	f := newFake(t, func(fakeReq) fakeReply { return fakeReply{Err: next.Load()} }).start()
	f.setMethods(nil) // every method goes to the fake
	c := newTestClient(t, f, Options{})
	connected(t, c)

	seen := 0
	for _, file := range files {
		base := filepath.Base(file)
		num := base[:min(3, len(base))]
		want, listed := wantSentinel[num]
		if !strings.Contains(base, "_ERR_") && !listed {
			continue
		}
		seen++
		t.Run(base, func(t *testing.T) {
			if !listed {
				t.Fatalf("no expected sentinel for %s: add it to wantSentinel", base)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var tr transcript
			if err := json.Unmarshal(b, &tr); err != nil {
				t.Fatal(err)
			}
			if tr.Response.Error == nil {
				t.Fatalf("%s records no error", base)
			}
			next.Store(tr.Response.Error)
			_, err = c.CallRaw(context.Background(), tr.Request.Method, tr.Request.Params)
			for _, s := range allSentinels {
				if got := errors.Is(err, s); got != (s == want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, got)
				}
			}
			if base[:3] == "100" {
				// Params that are a JSON string are refused before sending.
				return
			}
			var se *Error
			if !errors.As(err, &se) || se.Code != tr.Response.Error.Code || se.Message != tr.Response.Error.Message {
				t.Errorf("errors.As: got %+v, want %+v", se, tr.Response.Error)
			}
			sent := f.requests()
			last := sent[len(sent)-1]
			if last.Method != tr.Request.Method || !sameJSON(last.Params, tr.Request.Params) {
				t.Errorf("sent %s, recorded %s %s", last.Raw, tr.Request.Method, tr.Request.Params)
			}
		})
	}
	if seen != len(wantSentinel) {
		t.Errorf("replayed %d error transcripts, the table lists %d", seen, len(wantSentinel))
	}
}

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func TestError_Sentinel(t *testing.T) {
	for _, tc := range []struct {
		code int
		msg  string
		want error
	}{
		{-17, "File exists", ErrExists},
		{CodeInvalidParams, "File exists", ErrExists},
		{-19, "something new", ErrNotFound},
		{-2, "Lvol store lvs-x not found", ErrNotFound},
		{-2, "No such file or directory", ErrNotFound},
		{CodeInternalError, "Lvol store x not found", ErrNotFound},
		{-16, "Device or resource busy", ErrBusy},
		{CodeInternalError, "Device or resource busy", ErrBusy},
		{-12, "Cannot allocate memory", ErrNoMemory},
		{-28, "No space left on device", ErrNoSpace},
		{CodeInvalidParams, "bdev_x method requires no parameters", ErrInvalidParams},
		{CodeInternalError, "spdk_json_decode_object failed", ErrInvalidParams},
		{CodeInternalError, "something else", nil},
		{-5, "Input/output error", nil},
		{CodeInvalidRequest, "Invalid request", ErrInvalidRequest},
	} {
		e := &Error{Code: tc.code, Message: tc.msg}
		if got := e.Sentinel(); got != tc.want {
			t.Errorf("(%d, %q): got %v, want %v", tc.code, tc.msg, got, tc.want)
		}
		if tc.want != nil && !errors.Is(e, tc.want) {
			t.Errorf("(%d, %q): errors.Is false", tc.code, tc.msg)
		}
	}
}
