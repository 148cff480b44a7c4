package spdksim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// serve sends one request to tg and waits for its reply: the encoded
// result, or the error passed to the ReplyFunc.
func serve(tg *Target, method string, raw json.RawMessage) (json.RawMessage, error) {
	done := make(chan struct{})
	var res any
	var err error
	tg.ServeRPC(context.Background(), &spdkserver.Request{Method: method, Params: raw}, func(r any, e error) {
		res, err = r, e
		close(done)
	})
	<-done
	if err != nil {
		return nil, err
	}
	b, _ := res.(json.RawMessage)
	return b, nil
}

// call sends method with params (nil: none) and returns the raw result.
func call(t testing.TB, tg *Target, method string, params any) (json.RawMessage, error) {
	t.Helper()
	var raw json.RawMessage
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			t.Fatalf("%s: marshal params: %v", method, err)
		}
		raw = b
	}
	return serve(tg, method, raw)
}

// must is call that fails the test on an error and decodes the result.
func must[T any](t testing.TB, tg *Target, method string, params any) T {
	t.Helper()
	res, err := call(t, tg, method, params)
	if err != nil {
		t.Fatalf("%s %v: %v", method, params, err)
	}
	var v T
	if err := json.Unmarshal(res, &v); err != nil {
		t.Fatalf("%s: decode %s: %v", method, res, err)
	}
	return v
}

// wantErr checks that a call fails with exactly code and message.
func wantErr(t testing.TB, tg *Target, method string, params any, code int, msg string) {
	t.Helper()
	res, err := call(t, tg, method, params)
	var e *spdkrpc.Error
	if !errors.As(err, &e) || e.Code != code || e.Message != msg {
		t.Fatalf("%s %v = %s, %v; want error %d %q", method, params, res, err, code, msg)
	}
}

// replyLine renders a reply the way SPDK writes it on the wire.
func replyLine(id json.RawMessage, res json.RawMessage, err error) (string, error) {
	var e *spdkrpc.Error
	switch {
	case err == nil:
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":%s}`, id, res), nil
	case errors.As(err, &e):
		msg, _ := marshalSPDK(e.Message)
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%s}}`, id, e.Code, msg), nil
	}
	return "", err
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// uuidMap maps the UUIDs of a recording to the simulator's, each at first
// sight, and checks that the mapping stays one-to-one.
type uuidMap struct{ rec2sim, sim2rec map[string]string }

func newUUIDMap() *uuidMap {
	return &uuidMap{rec2sim: map[string]string{}, sim2rec: map[string]string{}}
}

// translate rewrites the recorded UUIDs already known into the simulator's
// (for requests that name an object by UUID).
func (u *uuidMap) translate(s string) string {
	return uuidRE.ReplaceAllStringFunc(s, func(r string) string {
		if v, ok := u.rec2sim[r]; ok {
			return v
		}
		return r
	})
}

// match compares a recorded reply with the simulator's, learning new UUID
// pairs in order of appearance. It returns a description of the first
// difference, or "".
func (u *uuidMap) match(rec, sim string) string {
	rs, ss := uuidRE.FindAllString(rec, -1), uuidRE.FindAllString(sim, -1)
	if len(rs) != len(ss) {
		return fmt.Sprintf("%d UUIDs recorded, %d answered\nrecorded: %s\nanswered: %s", len(rs), len(ss), rec, sim)
	}
	for i, r := range rs {
		s := ss[i]
		if m, ok := u.rec2sim[r]; ok && m != s {
			return fmt.Sprintf("recorded UUID %s is %s here, was %s before", r, s, m)
		}
		if m, ok := u.sim2rec[s]; ok && m != r {
			return fmt.Sprintf("answered UUID %s stands for recorded %s and %s", s, m, r)
		}
		u.rec2sim[r], u.sim2rec[s] = s, r
	}
	if got := u.translate(rec); got != sim {
		return fmt.Sprintf("\nrecorded: %s\nanswered: %s", got, sim)
	}
	return ""
}

func compact(t testing.TB, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %s: %v", raw, err)
	}
	return b.String()
}
