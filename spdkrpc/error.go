package spdkrpc

import (
	"encoding/json"
	"fmt"
)

// Error is an error answer from SPDK (or from anything that speaks like it),
// with the code and message exactly as received. Use errors.As to reach it and
// errors.Is with the sentinels of this package to classify it.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("spdk: %s (code %d)", e.Message, e.Code)
}

// JSON-RPC 2.0 error codes as SPDK uses them.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)
