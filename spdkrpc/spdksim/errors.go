package spdksim

import (
	"errors"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// errno is a Linux error number as SPDK puts it (negated) in its replies.
type errno int

const (
	eperm  errno = 1
	enoent errno = 2
	eio    errno = 5
	enomem errno = 12
	ebusy  errno = 16
	eexist errno = 17
	enodev errno = 19
	einval errno = 22
	enospc errno = 28
)

// strerror holds glibc's texts, which SPDK sends as the error message.
var strerror = map[errno]string{
	eperm:  "Operation not permitted",
	enoent: "No such file or directory",
	eio:    "Input/output error",
	enomem: "Cannot allocate memory",
	ebusy:  "Device or resource busy",
	eexist: "File exists",
	enodev: "No such device",
	einval: "Invalid argument",
	enospc: "No space left on device",
}

// SPDK answers one failure in three styles depending on where it is
// detected, and clients meet all three, so the simulator keeps them apart:
//
//   - syncErr: checked before any asynchronous work starts; the code is the
//     negative errno ("File exists" as -17).
//   - paramsErr: reported by an asynchronous completion of the lvol library;
//     the code is -32602 with the errno's text.
//   - internalErr: reported by bdev_lvol_delete's completion; -32603 with the
//     errno's text.
func syncErr(e errno) *spdkrpc.Error {
	return &spdkrpc.Error{Code: -int(e), Message: strerror[e]}
}

func paramsErr(e errno) *spdkrpc.Error {
	return &spdkrpc.Error{Code: spdkrpc.CodeInvalidParams, Message: strerror[e]}
}

func internalErr(e errno) *spdkrpc.Error {
	return &spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: strerror[e]}
}

// msgErr is an error whose text SPDK writes itself instead of strerror.
func msgErr(code int, msg string) *spdkrpc.Error {
	return &spdkrpc.Error{Code: code, Message: msg}
}

var (
	errDecode       = msgErr(spdkrpc.CodeInternalError, "spdk_json_decode_object failed")
	errInvalidReq   = msgErr(spdkrpc.CodeInvalidRequest, "Invalid request")
	errMethodAbsent = msgErr(spdkrpc.CodeMethodNotFound, "Method not found")
)

// Sentinel errors of the simulator's own API (not of the simulated target).
var (
	// ErrNotStarted is returned by Sim methods that need a running server.
	ErrNotStarted = errors.New("spdksim: simulator not started")
	// ErrBadMetadata is returned when an aio file holds simulator metadata
	// that cannot be read back.
	ErrBadMetadata = errors.New("spdksim: unreadable lvstore metadata")
)
