package spdkrpc

import "errors"

// Sentinel errors. Errors returned by the client wrap one of these (or a
// context error) together with the method and identifiers involved; classify
// them with errors.Is. An answer from SPDK additionally carries the original
// code and message in an *Error, reachable with errors.As.
var (
	// ErrDisconnected is returned by a call that could not complete because
	// the connection to SPDK is down: it broke while the call was in flight
	// (EOF, reset, SPDK closing it after bytes it could not parse, a reply that
	// is not valid JSON or is larger than MaxReplySize) or was not up when the
	// call was made. It wraps the cause. The call may or may not have been
	// executed by SPDK.
	ErrDisconnected = errors.New("spdkrpc: disconnected from SPDK")

	// ErrReplyTooLarge is wrapped (under ErrDisconnected) by the error of a
	// call whose reply did not fit SPDK's send buffer (32 MiB): SPDK cut
	// it, the connection was dropped, and the same call will fail the same
	// way. Read such a listing in smaller parts (per lvstore, per name).
	ErrReplyTooLarge = errors.New("spdkrpc: reply cut at SPDK's send buffer")

	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("spdkrpc: client closed")

	// ErrRequestTooLarge is returned, before anything is sent, for a request
	// whose encoding is larger than MaxRequestSize or holds more than
	// MaxRequestValues JSON values. SPDK drops the connection on such a
	// request, losing every other call in flight on it.
	ErrRequestTooLarge = errors.New("spdkrpc: request too large")

	// ErrNotFound is returned when SPDK reports that the object named in the
	// call does not exist (ENODEV, ENOENT, "bdev does not exist", "lvs does
	// not exist", "Lvol store ... not found").
	ErrNotFound = errors.New("spdkrpc: not found")

	// ErrExists is returned when SPDK refuses to create or rename something
	// because the name is taken, or when the requested relation already holds
	// (EEXIST, "File exists").
	ErrExists = errors.New("spdkrpc: already exists")

	// ErrNotPermitted is returned when SPDK refuses an operation in the
	// object's current state (EPERM, "Operation not permitted"): deleting a
	// snapshot with several clones, resizing a read-only lvol or a snapshot,
	// creating an lvstore on a claimed bdev.
	ErrNotPermitted = errors.New("spdkrpc: operation not permitted")

	// ErrBusy is returned when SPDK reports the object busy (EBUSY, "Device
	// or resource busy").
	ErrBusy = errors.New("spdkrpc: device or resource busy")

	// ErrInvalidArgument is returned when SPDK rejects a parameter's value
	// (EINVAL, "Invalid argument"): a name that is empty or longer than 63
	// bytes, a clone of a non-snapshot, both uuid and lvs_name given.
	ErrInvalidArgument = errors.New("spdkrpc: invalid argument")

	// ErrNoSpace is returned when the lvstore has too few free clusters
	// (ENOSPC, "No space left on device").
	ErrNoSpace = errors.New("spdkrpc: no space left")

	// ErrNoMemory is returned when SPDK runs out of memory or, in practice,
	// out of lvstore metadata pages (ENOMEM, "Cannot allocate memory").
	ErrNoMemory = errors.New("spdkrpc: out of memory or metadata pages")

	// ErrMethodNotFound is returned when SPDK does not provide the method
	// (-32601), or, without a round trip, when the method is missing from the
	// list the connected SPDK reported at connect time.
	ErrMethodNotFound = errors.New("spdkrpc: method not found")

	// ErrInvalidParams is returned when SPDK could not decode the parameters:
	// a missing required key, a wrong type, an unknown key (-32603
	// "spdk_json_decode_object failed"), or params given to a method that
	// takes none (-32602 without a recognised errno text).
	ErrInvalidParams = errors.New("spdkrpc: invalid params")

	// ErrInvalidRequest is returned when SPDK rejects the request itself
	// (-32600), for example params that are neither an object nor an array.
	ErrInvalidRequest = errors.New("spdkrpc: invalid request")
)
