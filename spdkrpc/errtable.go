package spdkrpc

import "strings"

// SPDK reports the same condition in several ways: a negative errno in code
// with strerror() as message (-17 "File exists"), or a JSON-RPC code with the
// strerror() text as message (-32602 "File exists"), or a message of its own
// ("bdev does not exist"). Classification therefore looks at the message
// first and falls back to the code. This table is the only place in the
// project that knows these conventions.

// messageRule maps an SPDK error message to a sentinel. Exact messages are
// strerror() texts; prefix+suffix rules catch messages carrying a name.
type messageRule struct {
	exact          string
	prefix, suffix string
	sentinel       error
}

var messageRules = []messageRule{
	{exact: "No such device", sentinel: ErrNotFound},
	{exact: "No such file or directory", sentinel: ErrNotFound},
	{exact: "bdev does not exist", sentinel: ErrNotFound},
	{exact: "lvs does not exist", sentinel: ErrNotFound},
	{prefix: "Lvol store ", suffix: " not found", sentinel: ErrNotFound},
	{exact: "File exists", sentinel: ErrExists},
	{exact: "Operation not permitted", sentinel: ErrNotPermitted},
	{exact: "Device or resource busy", sentinel: ErrBusy},
	{exact: "Invalid argument", sentinel: ErrInvalidArgument},
	{exact: "No space left on device", sentinel: ErrNoSpace},
	{exact: "Cannot allocate memory", sentinel: ErrNoMemory},
	{exact: "spdk_json_decode_object failed", sentinel: ErrInvalidParams},
	{exact: "Method not found", sentinel: ErrMethodNotFound},
	{exact: "Invalid request", sentinel: ErrInvalidRequest},
}

// codeRules maps a code to a sentinel when the message is not recognised.
// Negative errno values as Linux numbers them.
var codeRules = map[int]error{
	-1:                 ErrNotPermitted,    // EPERM
	-2:                 ErrNotFound,        // ENOENT
	-12:                ErrNoMemory,        // ENOMEM
	-16:                ErrBusy,            // EBUSY
	-17:                ErrExists,          // EEXIST
	-19:                ErrNotFound,        // ENODEV
	-22:                ErrInvalidArgument, // EINVAL
	-28:                ErrNoSpace,         // ENOSPC
	CodeInvalidRequest: ErrInvalidRequest,
	CodeMethodNotFound: ErrMethodNotFound,
	CodeInvalidParams:  ErrInvalidParams,
}

// Sentinel returns the sentinel error that classifies e, or nil when neither
// its message nor its code is known (for example -32603 with an unknown
// text, or -1 with a message of its own is still EPERM by code).
func (e *Error) Sentinel() error {
	if e == nil {
		return nil
	}
	for _, r := range messageRules {
		if r.exact != "" && e.Message == r.exact {
			return r.sentinel
		}
		if r.exact == "" && len(e.Message) >= len(r.prefix)+len(r.suffix) &&
			strings.HasPrefix(e.Message, r.prefix) && strings.HasSuffix(e.Message, r.suffix) {
			return r.sentinel
		}
	}
	return codeRules[e.Code]
}

// Is reports whether target is the sentinel that classifies e, so that
// errors.Is(err, ErrNotFound) works on any error wrapping an *Error.
func (e *Error) Is(target error) bool {
	s := e.Sentinel()
	return s != nil && s == target
}
