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

// scanState says what the scanner expects at the next byte.
type scanState uint8

const (
	stValue       scanState = iota // a value (whitespace before it is skipped)
	stArrayFirst                   // a value or ']' right after '['
	stObjectFirst                  // a member name or '}' right after '{'
	stName                         // a member name after ','
	stColon                        // ':' after a member name
	stAfter                        // ',' or the closing bracket after a member value
	stString                       // inside a string
	stEscape                       // after '\' in a string
	stUnicode                      // inside the hex digits of \uXXXX
	stLiteral                      // inside true, false or null
	stMinus                        // after the '-' of a number
	stZero                         // after a leading 0
	stInt                          // in the integer digits
	stDot                          // after the decimal point
	stFrac                         // in the fraction digits
	stExp                          // after 'e' or 'E'
	stExpSign                      // after the exponent's sign
	stExpDigits                    // in the exponent digits
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

// step scans one byte. done means the top-level value ends before this byte
// (a number) or with it (anything else); in the first case s.pos is left
// at the byte so that take() excludes it.
func (s *Splitter) step(c byte) (done bool, err error) {
	switch s.state {
	case stValue:
		if isSpace(c) {
			return false, nil
		}
		return s.beginValue(c)
	case stArrayFirst:
		if isSpace(c) {
			return false, nil
		}
		if c == ']' {
			return s.closeContainer('[')
		}
		return s.beginValue(c)
	case stObjectFirst, stName:
		switch {
		case isSpace(c):
			return false, nil
		case c == '}' && s.state == stObjectFirst:
			return s.closeContainer('{')
		case c == '"':
			s.values++
			s.inName = true
			s.state = stString
			return false, nil
		}
		return false, ErrSyntax
	case stColon:
		switch {
		case isSpace(c):
			return false, nil
		case c == ':':
			s.state = stValue
			return false, nil
		}
		return false, ErrSyntax
	case stAfter:
		top := s.stack[len(s.stack)-1]
		switch {
		case isSpace(c):
			return false, nil
		case c == ',' && top == '{':
			s.state = stName
			return false, nil
		case c == ',':
			s.state = stValue
			return false, nil
		case c == '}' && top == '{', c == ']' && top == '[':
			return s.closeContainer(top)
		}
		return false, ErrSyntax
	case stString, stEscape, stUnicode:
		return s.stepString(c)
	case stLiteral:
		if c != s.lit[0] {
			return false, ErrSyntax
		}
		s.lit = s.lit[1:]
		if s.lit == "" {
			done = s.endValue()
			if done {
				s.pos++
			}
			return done, nil
		}
		return false, nil
	}
	return s.stepNumber(c)
}

// beginValue starts a value at byte c.
func (s *Splitter) beginValue(c byte) (bool, error) {
	s.values++
	switch c {
	case '{':
		s.stack = append(s.stack, '{')
		s.state = stObjectFirst
	case '[':
		s.stack = append(s.stack, '[')
		s.state = stArrayFirst
	case '"':
		s.inName = false
		s.state = stString
	case 't':
		s.lit, s.state = "rue", stLiteral
	case 'f':
		s.lit, s.state = "alse", stLiteral
	case 'n':
		s.lit, s.state = "ull", stLiteral
	case '-':
		s.state = stMinus
	case '0':
		s.state = stZero
	default:
		if c < '1' || c > '9' {
			return false, ErrSyntax
		}
		s.state = stInt
	}
	return false, nil
}

// closeContainer ends the innermost container, which must be open.
func (s *Splitter) closeContainer(open byte) (bool, error) {
	if len(s.stack) == 0 || s.stack[len(s.stack)-1] != open {
		return false, ErrSyntax
	}
	s.stack = s.stack[:len(s.stack)-1]
	s.values++
	done := s.endValue()
	if done {
		s.pos++
	}
	return done, nil
}

func (s *Splitter) stepString(c byte) (bool, error) {
	switch s.state {
	case stEscape:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.state = stString
		case 'u':
			s.state, s.hex = stUnicode, 4
		default:
			return false, ErrSyntax
		}
		return false, nil
	case stUnicode:
		if !isHex(c) {
			return false, ErrSyntax
		}
		if s.hex--; s.hex == 0 {
			s.state = stString
		}
		return false, nil
	}
	switch {
	case c == '"':
		if s.inName {
			s.inName = false
			s.state = stColon
			return false, nil
		}
		done := s.endValue()
		if done {
			s.pos++
		}
		return done, nil
	case c == '\\':
		s.state = stEscape
	case c < 0x20:
		return false, ErrSyntax
	}
	return false, nil
}

// stepNumber scans a byte in a number. A byte that cannot continue the
// number ends it and is scanned again in the new state.
func (s *Splitter) stepNumber(c byte) (bool, error) {
	digit := c >= '0' && c <= '9'
	switch s.state {
	case stMinus:
		switch {
		case c == '0':
			s.state = stZero
		case digit:
			s.state = stInt
		default:
			return false, ErrSyntax
		}
		return false, nil
	case stInt, stZero:
		switch {
		case digit && s.state == stInt:
			return false, nil
		case c == '.':
			s.state = stDot
			return false, nil
		case c == 'e' || c == 'E':
			s.state = stExp
			return false, nil
		}
	case stDot:
		if !digit {
			return false, ErrSyntax
		}
		s.state = stFrac
		return false, nil
	case stFrac:
		switch {
		case digit:
			return false, nil
		case c == 'e' || c == 'E':
			s.state = stExp
			return false, nil
		}
	case stExp:
		switch {
		case c == '+' || c == '-':
			s.state = stExpSign
		case digit:
			s.state = stExpDigits
		default:
			return false, ErrSyntax
		}
		return false, nil
	case stExpSign:
		if !digit {
			return false, ErrSyntax
		}
		s.state = stExpDigits
		return false, nil
	case stExpDigits:
		if digit {
			return false, nil
		}
	}
	// The number ended before c. A digit after a leading zero lands here
	// too: inside a container it fails in stAfter, at the top level "01"
	// is two values, as it is for SPDK's parser.
	if s.endValue() {
		return true, nil
	}
	return s.step(c)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
