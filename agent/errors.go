package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// refusalCode is the code of a refusal: -1, EPERM, as SPDK itself answers
// "Operation not permitted".
const refusalCode = -1

// refusalFacts are the facts of a refused call; they go into the error's
// message for people and into its data for programs.
type refusalFacts struct {
	Rule       string   `json:"rule"`
	Method     string   `json:"method"`
	Target     string   `json:"target,omitempty"`
	Reason     string   `json:"reason"`
	Dependents []string `json:"dependents,omitempty"`
}

// refusal builds the SPDK-style error for a refused call: code -1 and a
// message starting "Operation not permitted" that names the rule and the
// lvols that depend on the target.
func refusal(f refusalFacts) *spdkrpc.Error {
	var msg strings.Builder
	fmt.Fprintf(&msg, "Operation not permitted: %s", f.Rule)
	if f.Target != "" {
		fmt.Fprintf(&msg, ": %s %s", f.Method, f.Target)
	}
	fmt.Fprintf(&msg, ": %s", f.Reason)
	if len(f.Dependents) > 0 {
		fmt.Fprintf(&msg, " (depended on by %s)", strings.Join(f.Dependents, ", "))
	}
	data, _ := json.Marshal(f)
	return &spdkrpc.Error{Code: refusalCode, Message: msg.String(), Data: data}
}

// refusalOf returns the facts of a refusal error, if err is one.
func refusalOf(err error) (refusalFacts, bool) {
	var e *spdkrpc.Error
	if !errors.As(err, &e) || e.Code != refusalCode || !strings.HasPrefix(e.Message, "Operation not permitted: ") || len(e.Data) == 0 {
		return refusalFacts{}, false
	}
	var f refusalFacts
	if json.Unmarshal(e.Data, &f) != nil || f.Rule == "" {
		return refusalFacts{}, false
	}
	return f, true
}

// invalidParams is the error for parameters that do not decode, in SPDK's
// shape (-32602) with a message that says what was wrong.
func invalidParams(method string, err error) *spdkrpc.Error {
	return &spdkrpc.Error{Code: spdkrpc.CodeInvalidParams, Message: fmt.Sprintf("Invalid parameters for %s: %v", method, err)}
}

// decodeParams decodes params into v strictly: unknown keys, trailing data
// and a params member that is not an object are errors. Absent params leave
// v as is (all of its fields optional), unless required is set.
func decodeParams(method string, params json.RawMessage, v any, required bool) *spdkrpc.Error {
	if len(bytes.TrimSpace(params)) == 0 || bytes.Equal(bytes.TrimSpace(params), []byte("null")) {
		if required {
			return invalidParams(method, errors.New("params are required"))
		}
		return nil
	}
	if t := bytes.TrimSpace(params); t[0] != '{' {
		return invalidParams(method, errors.New("params must be a JSON object"))
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidParams(method, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidParams(method, errors.New("trailing data after the params object"))
	}
	return nil
}

// noParams checks that a method that takes no parameters got none, with
// SPDK's own message for that case.
func noParams(method string, params json.RawMessage) *spdkrpc.Error {
	if len(bytes.TrimSpace(params)) == 0 {
		return nil
	}
	return &spdkrpc.Error{Code: spdkrpc.CodeInvalidParams, Message: method + " method requires no parameters"}
}

// errSPDKUnavailable is answered for forwarded calls while SPDK cannot be
// reached.
func errSPDKUnavailable(method string, err error) *spdkrpc.Error {
	return &spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: fmt.Sprintf("spdk-agent: SPDK unavailable for %s: %v", method, err)}
}
