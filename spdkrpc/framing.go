package spdkrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Size limits of SPDK's RPC server (v26.05, jsonrpc_internal.h).
const (
	// MaxRequestSize is the largest request the client sends. SPDK's receive
	// buffer is 256 KiB per connection and a larger request makes it reset
	// the connection, losing every call in flight on it.
	MaxRequestSize = 256 << 10

	// MaxReplySize is the largest reply the client accepts. SPDK sends no
	// more: an answer that does not fit its send buffer is cut at this size
	// and sent without an end, so a value that reaches it unfinished is one
	// SPDK cut.
	MaxReplySize = 32 << 20

	// MaxRequestValues is the most JSON values (each brace and bracket,
	// member name, string, number and literal counts as one) SPDK parses in
	// one request; it closes the connection, without a reply, on more.
	MaxRequestValues = 8192
)

// envelopeValues is the number of values in a request besides its params:
// the object's two braces, "jsonrpc" and "2.0", "id" and its number,
// "method" and its name, and the "params" name.
const envelopeValues = 9

// countValues returns the number of JSON values in valid JSON, as SPDK's
// parser counts them. Every value takes at least one byte, so inputs
// shorter than limit are not scanned.
func countValues(b []byte, limit int) (int, error) {
	if len(b) < limit {
		return len(b), nil // an upper bound is enough
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// errBadReply is wrapped by the reply decoder's errors: the stream is not a
// sequence of JSON objects or arrays. There is no resync point in SPDK's
// framing, so the connection has to be dropped.
var errBadReply = errors.New("reply is not valid JSON")

// replyDecoder splits SPDK's reply stream into JSON values. SPDK writes one
// compact value and a newline per reply, but the decoder does not rely on
// the newline: it follows the JSON structure (objects, arrays, strings), so
// several values on one line or one value over several lines are fine.
//
// It never waits for more input on a value that can no longer become valid:
// a raw control character inside a string (SPDK's replies with a name cut
// inside a multi-byte character leave a string unterminated, and the newline
// then lands inside it) is an error at once, as is a top-level value that is
// not an object or an array. Every value returned is valid JSON.
type replyDecoder struct {
	r   io.Reader
	max int

	buf   []byte // unconsumed input; buf[:pos] is scanned
	pos   int
	start int // index of the current value's first byte, -1 before it

	depth    int
	inString bool
	escape   bool
}

func newReplyDecoder(r io.Reader, maxSize int) *replyDecoder {
	return &replyDecoder{r: r, max: maxSize, start: -1}
}

// Next returns the next complete reply value. The slice is the caller's.
// Errors other than the reader's wrap errBadReply.
func (d *replyDecoder) Next() ([]byte, error) {
	for {
		if v, err := d.scan(); v != nil || err != nil {
			return v, err
		}
		if err := d.fill(); err != nil {
			if err == io.EOF && d.start >= 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// tooLarge is the error of a reply that reached the limit without ending.
// From SPDK that is a reply cut by its send buffer (see MaxReplySize).
func (d *replyDecoder) tooLarge() error {
	return fmt.Errorf("%w: %w: %d bytes and not ended", errBadReply, ErrReplyTooLarge, d.max)
}

// fill reads more input, compacting consumed bytes away first.
func (d *replyDecoder) fill() error {
	if d.start > 0 || (d.start < 0 && d.pos > 0) {
		from := d.pos
		if d.start >= 0 {
			from = d.start
		}
		n := copy(d.buf, d.buf[from:])
		d.buf = d.buf[:n]
		d.pos -= from
		if d.start >= 0 {
			d.start = 0
		}
	}
	if d.start < 0 && cap(d.buf) > 1<<20 {
		// Do not keep a huge buffer alive after a huge reply.
		d.buf = append(make([]byte, 0, 64<<10), d.buf...)
	}
	if d.start >= 0 && len(d.buf) >= d.max {
		return d.tooLarge()
	}
	if cap(d.buf)-len(d.buf) < 4096 {
		grow := max(cap(d.buf), 64<<10)
		nb := make([]byte, len(d.buf), len(d.buf)+grow)
		copy(nb, d.buf)
		d.buf = nb
	}
	room := cap(d.buf) - len(d.buf)
	if d.start >= 0 {
		// Read at most one byte past the limit so an oversized reply is
		// reported instead of buffered.
		room = min(room, d.max+1-len(d.buf))
	}
	n, err := d.r.Read(d.buf[len(d.buf) : len(d.buf)+room])
	d.buf = d.buf[:len(d.buf)+n]
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// scan advances over buffered input. It returns a value when one is
// complete, nil and nil when it needs more input.
func (d *replyDecoder) scan() ([]byte, error) {
	for d.pos < len(d.buf) {
		if d.start >= 0 && d.pos-d.start >= d.max {
			return nil, d.tooLarge()
		}
		if d.inString {
			if err := d.skipString(); err != nil {
				return nil, err
			}
			continue
		}
		b := d.buf[d.pos]
		d.pos++
		if d.start < 0 {
			switch b {
			case ' ', '\t', '\r', '\n':
				continue
			case '{', '[':
				d.start, d.depth = d.pos-1, 1
				continue
			}
			return nil, fmt.Errorf("%w: a reply must be an object or an array, got %q", errBadReply, b)
		}
		switch b {
		case '"':
			d.inString = true
		case '{', '[':
			d.depth++
		case '}', ']':
			d.depth--
			if d.depth == 0 {
				v := d.buf[d.start:d.pos]
				d.start = -1
				if !json.Valid(v) {
					return nil, fmt.Errorf("%w: %.64q", errBadReply, v)
				}
				return append([]byte(nil), v...), nil
			}
		}
	}
	return nil, nil
}

// skipString advances through the buffered part of a string. It jumps from
// quote to backslash with bytes.IndexByte because replies are mostly
// strings (names, UUIDs) and can be megabytes long. A raw newline inside a
// string is an error at once: SPDK ends every reply with one, so a string
// that runs into it was never going to be closed. Other control characters
// are caught by json.Valid when the value completes.
func (d *replyDecoder) skipString() error {
	rest := d.buf[d.pos:]
	if d.escape {
		d.escape = false
		if rest[0] == '\n' {
			return fmt.Errorf("%w: control character '\\n' inside a string", errBadReply)
		}
		d.pos++
		return nil
	}
	end := len(rest)
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		end = i
	}
	if i := bytes.IndexByte(rest[:end], '\\'); i >= 0 {
		end = i
	}
	if bytes.IndexByte(rest[:end], '\n') >= 0 {
		return fmt.Errorf("%w: control character '\\n' inside a string", errBadReply)
	}
	d.pos += end
	if end == len(rest) {
		return nil
	}
	switch rest[end] {
	case '"':
		d.inString = false
	case '\\':
		d.escape = true
	}
	d.pos++
	return nil
}
