package spdkserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// nullID is the id of answers to requests whose own id could not be trusted.
var nullID = json.RawMessage("null")

// invalidRequest is SPDK's answer to anything that is JSON but not a request.
var invalidRequest = &spdkrpc.Error{Code: spdkrpc.CodeInvalidRequest, Message: "Invalid request"}

// call is one request of a message after SPDK's checks.
type call struct {
	// id holds the id's bytes exactly as received, to be echoed; "null"
	// for a request refused before its id was read.
	id json.RawMessage
	// notify is true when no answer may be sent: no id, or a null one.
	notify  bool
	method  string
	params  json.RawMessage
	invalid bool // answer -32600 Invalid request instead of calling a handler
}

// decodeMessage turns one top-level JSON value into its calls. batch says
// the answers go out together as one JSON array.
func decodeMessage(v []byte) (calls []call, batch bool) {
	if len(v) == 0 || v[0] != '[' {
		return []call{decodeCall(v)}, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil || len(items) == 0 {
		// SPDK answers "[]" with a plain error object, not an array.
		return []call{{id: nullID, invalid: true}}, false
	}
	calls = make([]call, len(items))
	for i, it := range items {
		calls[i] = decodeCall(it)
	}
	return calls, true
}

// decodeCall checks one request in the order SPDK does: anything wrong with
// the envelope (not an object, "jsonrpc" other than "2.0", method missing or
// not a string, id neither string, number nor null) is refused with a null
// id; params that are neither object nor array are refused with the id.
// Members other than these four are ignored.
func decodeCall(v []byte) call {
	bad := call{id: nullID, invalid: true}
	if len(v) == 0 || v[0] != '{' {
		return bad
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		return bad
	}
	if raw, ok := m["jsonrpc"]; ok {
		var version string
		if json.Unmarshal(raw, &version) != nil || version != "2.0" {
			return bad
		}
	}
	var c call
	raw, ok := m["method"]
	if !ok || len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &c.method) != nil {
		return bad
	}
	switch id := m["id"]; {
	case id == nil || string(id) == "null":
		c.notify = true
	case id[0] == '"' || id[0] == '-' || id[0] >= '0' && id[0] <= '9':
		c.id = id
	default:
		return bad
	}
	// "params": null is as good as none (SPDK lists everything for it).
	if params, ok := m["params"]; ok && string(params) != "null" {
		if params[0] != '{' && params[0] != '[' {
			c.invalid = true
			return c
		}
		c.params = params
	}
	return c
}

// replyID is the id written in the answer to c.
func (c *call) replyID() json.RawMessage {
	if c.id == nil {
		return nullID
	}
	return c.id
}

// encodeReply renders one answer object, compact and without the newline,
// with SPDK's member order.
func encodeReply(id json.RawMessage, result any, err error) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":`)
	b.Write(id)
	if err == nil {
		b.WriteString(`,"result":`)
		if merr := writeJSON(&b, result); merr != nil {
			return nil, fmt.Errorf("spdkserver: encode result for id %s: %w", id, merr)
		}
		b.WriteByte('}')
		return b.Bytes(), nil
	}
	var e *spdkrpc.Error
	if !errors.As(err, &e) {
		e = &spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: err.Error()}
	}
	fmt.Fprintf(&b, `,"error":{"code":%d,"message":`, e.Code)
	if merr := writeJSON(&b, e.Message); merr != nil {
		return nil, merr
	}
	if len(e.Data) > 0 {
		b.WriteString(`,"data":`)
		if merr := writeJSON(&b, e.Data); merr != nil {
			return nil, fmt.Errorf("spdkserver: encode error data for id %s: %w", id, merr)
		}
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// writeJSON appends v as compact JSON. Unlike json.Marshal it leaves <, >
// and & alone, as SPDK's writer does.
func writeJSON(b *bytes.Buffer, v any) error {
	mark := b.Len()
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b.Truncate(mark)
		return err
	}
	b.Truncate(b.Len() - 1) // Encode ends with a newline
	return nil
}

// joinBatch renders the answers of a batch as one JSON array.
func joinBatch(parts [][]byte) []byte {
	n := 2
	for _, p := range parts {
		n += len(p) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, p := range parts {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, p...)
	}
	return append(out, ']')
}
