package spdkserver

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits of SPDK's JSON-RPC server (jsonrpc_internal.h), copied so that a
// client meets the same walls here as on a real spdk_tgt.
const (
	// MaxRequestSize is SPDK's receive buffer: a single request that does
	// not fit in it makes the server drop the connection without a reply.
	MaxRequestSize = 256 << 10
	// MaxValues is the most JSON values (scalars, member names, and the
	// opening and closing of each object or array) one request may hold.
	MaxValues = 8192
)

// Framing errors. Each one ends the connection without a reply, since a
// stream of concatenated JSON values has no point to resynchronise at.
var (
	// ErrSyntax is returned by [Splitter.Next] at the first byte that no
	// continuation could turn into JSON.
	ErrSyntax = errors.New("spdkserver: bytes that cannot be JSON")
	// ErrRequestTooLarge is returned by [Splitter.Next] when one value
	// reaches MaxRequestSize bytes without being complete.
	ErrRequestTooLarge = errors.New("spdkserver: request larger than the receive buffer")
	// ErrTooManyValues is returned by [Splitter.Next] for a complete value
	// made of more than MaxValues JSON values.
	ErrTooManyValues = errors.New("spdkserver: request with too many JSON values")
)

// Splitter cuts a byte stream into top-level JSON values the way SPDK's
// parser does: values may touch or be separated by whitespace, a value split
// across writes waits for the rest, and a top-level number ends at the end of
// the bytes received so far. It keeps its scan position between calls, so
// feeding a large request in small pieces costs no rescans.
//
// A Splitter does no I/O and is not safe for concurrent use.
type Splitter struct {
	buf    []byte    // bytes not yet returned; buf[:pos] is scanned
	pos    int       // scan position in buf
	state  scanState // what the next byte must be
	stack  []byte    // open containers, '{' or '['
	inName bool      // the string being scanned is a member name
	lit    string    // rest of the literal being scanned
	hex    int       // hex digits still due in a \u escape
	values int       // JSON values in the current top-level value
	err    error     // sticky framing error
}

// Write appends bytes received from the stream.
func (s *Splitter) Write(p []byte) {
	if s.err == nil {
		s.buf = append(s.buf, p...)
	}
}

// Buffered returns how many bytes are held that no value returned yet.
func (s *Splitter) Buffered() int { return len(s.buf) }

// Next returns the next complete top-level value, without surrounding
// whitespace, or nil when more bytes are needed. The returned slice stays
// valid after later calls. After an error, every call returns that error.
func (s *Splitter) Next() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.pos == 0 {
		s.skipSpace()
	}
	for s.pos < len(s.buf) {
		if s.pos >= MaxRequestSize {
			return nil, s.fail(fmt.Errorf("%w: more than %d bytes and still incomplete", ErrRequestTooLarge, MaxRequestSize))
		}
		done, err := s.step(s.buf[s.pos])
		if err != nil {
			return nil, s.fail(fmt.Errorf("%w: byte %q at offset %d of the request", err, s.buf[s.pos], s.pos))
		}
		if done {
			return s.take()
		}
		s.pos++
	}
	// A number at the top level has nothing to close it: SPDK takes the end
	// of the received bytes as its end (a lone "42" gets an answer at once).
	if len(s.stack) == 0 && s.numberCanEnd() {
		return s.take()
	}
	if s.pos >= MaxRequestSize {
		return nil, s.fail(fmt.Errorf("%w: more than %d bytes and still incomplete", ErrRequestTooLarge, MaxRequestSize))
	}
	return nil, nil
}

func (s *Splitter) fail(err error) error {
	s.err = err
	s.buf = nil
	return err
}

// skipSpace drops whitespace before a value so that it never counts
// against the size limit.
func (s *Splitter) skipSpace() {
	i := 0
	for i < len(s.buf) && isSpace(s.buf[i]) {
		i++
	}
	s.buf = s.buf[i:]
}

// take cuts the value ending at s.pos off the buffer and resets the scanner.
func (s *Splitter) take() ([]byte, error) {
	v := s.buf[:s.pos:s.pos]
	s.buf = s.buf[s.pos:]
	s.pos = 0
	s.state = stValue
	n := s.values
	s.values = 0
	if n > MaxValues {
		return nil, s.fail(fmt.Errorf("%w: %d values, at most %d", ErrTooManyValues, n, MaxValues))
	}
	if !utf8.Valid(v) {
		return nil, s.fail(fmt.Errorf("%w: invalid UTF-8", ErrSyntax))
	}
	return v, nil
}

func (s *Splitter) numberCanEnd() bool {
	switch s.state {
	case stZero, stInt, stFrac, stExpDigits:
		return true
	}
	return false
}

// endValue records that a value inside the top-level one, or the top-level
// one itself, ended with the current byte. It reports whether the top-level
// value is complete.
func (s *Splitter) endValue() bool {
	if len(s.stack) == 0 {
		return true
	}
	s.state = stAfter
	return false
}
