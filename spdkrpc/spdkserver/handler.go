package spdkserver

import (
	"context"
	"encoding/json"
	"errors"
)

// Request is one decoded JSON-RPC request as the server hands it to a Handler.
type Request struct {
	Method string
	// Params is the raw "params" member; nil when the request had none.
	Params json.RawMessage
	// Notification is true when the request had no id or a null id: the
	// handler still runs, but nothing is sent back.
	Notification bool
	// Peer holds the connecting process's credentials (SO_PEERCRED).
	Peer PeerCred
}

// PeerCred identifies the process at the other end of a Unix connection.
type PeerCred struct {
	OK       bool // false when the credentials could not be read
	PID      int32
	UID, GID uint32
}

// ReplyFunc delivers the answer to one request. It must be called exactly
// once, from any goroutine, at any time. A *spdkrpc.Error becomes an error
// object with its code, message and data; ErrNoReply and ErrCrash have the
// meanings documented on them; any other error becomes -32603 with its text.
type ReplyFunc func(result any, err error)

// Handler answers requests. ServeRPC is called on the connection's reader
// goroutine, in the order requests arrive, so a handler that applies state
// changes synchronously sees them in order. A handler that does slow work
// (forwarding to SPDK, say) starts it on its own goroutine and calls reply
// when done, so that later requests are not held up: replies then go out in
// completion order, as SPDK's do.
type Handler interface {
	ServeRPC(ctx context.Context, req *Request, reply ReplyFunc)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *Request, reply ReplyFunc)

// ServeRPC calls f.
func (f HandlerFunc) ServeRPC(ctx context.Context, req *Request, reply ReplyFunc) { f(ctx, req, reply) }

var (
	// ErrNoReply, passed to a ReplyFunc, means the call never answers, like
	// real SPDK when the base bdev of an esnap clone is deleted.
	ErrNoReply = errors.New("spdkserver: no reply")
	// ErrCrash, passed to a ReplyFunc, makes the whole server behave like a
	// crashed spdk_tgt: every connection closes, nothing more is answered and
	// the socket file stays behind (stale).
	ErrCrash = errors.New("spdkserver: crash")
)

// Immediate marks err as answered before any work was queued, such as a
// parameter that failed to decode: SPDK sends such an answer at once even for
// a method whose successful answers come late (see Options.Async).
func Immediate(err error) error { return &immediateError{err} }

type immediateError struct{ err error }

func (e *immediateError) Error() string { return e.err.Error() }
func (e *immediateError) Unwrap() error { return e.err }
