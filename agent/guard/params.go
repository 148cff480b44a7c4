package guard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Params are the members of one call's params object, in order, read the
// way SPDK's decoder finds them: by exact key. The guard judges the values
// it reads here and forwards [Params.Encode] of them, never the caller's
// bytes, so SPDK acts on exactly the strings that were judged.
type Params struct {
	members []member
	absent  bool // no params at all (or null)
}

type member struct {
	key string
	raw json.RawMessage
}

// Errors of ParseParams. SPDK's decoder would read such params differently
// from Go's (a key given twice, a NUL inside a name, bytes that are not
// UTF-8), so the guard refuses them rather than guess.
var (
	ErrNotObject    = errors.New("params must be a JSON object")
	ErrDuplicateKey = errors.New("key given more than once")
	ErrBadString    = errors.New("string SPDK would read differently")
)

// ParseParams reads raw params. Absent or null params give an empty
// Params that SPDK decides about (most methods then answer "invalid
// parameters").
func ParseParams(raw json.RawMessage) (Params, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return Params{absent: true}, nil
	}
	if t[0] != '{' {
		return Params{}, ErrNotObject
	}
	if !utf8.Valid(t) {
		return Params{}, fmt.Errorf("%w: params are not valid UTF-8", ErrBadString)
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return Params{}, err
	}
	var p Params
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Params{}, err
		}
		key, _ := tok.(string)
		if seen[key] {
			return Params{}, fmt.Errorf("%w: %q", ErrDuplicateKey, key)
		}
		seen[key] = true
		if strings.ContainsRune(key, 0) {
			return Params{}, fmt.Errorf("%w: key %q holds a NUL", ErrBadString, key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return Params{}, err
		}
		p.members = append(p.members, member{key: key, raw: v})
	}
	if _, err := dec.Token(); err != nil {
		return Params{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Params{}, errors.New("data after the params object")
	}
	return p, nil
}

// Has reports whether key is present.
func (p Params) Has(key string) bool {
	_, ok := p.find(key)
	return ok
}

func (p Params) find(key string) (int, bool) {
	for i, m := range p.members {
		if m.key == key {
			return i, true
		}
	}
	return -1, false
}

// String returns the string member key. ok is false when it is absent;
// err names a member that is present but not a string SPDK reads as Go
// does (SPDK's C strings end at the first NUL).
func (p Params) String(key string) (s string, ok bool, err error) {
	i, found := p.find(key)
	if !found {
		return "", false, nil
	}
	if err := json.Unmarshal(p.members[i].raw, &s); err != nil {
		return "", true, fmt.Errorf("%q must be a string", key)
	}
	if strings.ContainsRune(s, 0) {
		return "", true, fmt.Errorf("%w: %q holds a NUL", ErrBadString, key)
	}
	return s, true, nil
}

// Uint returns the unsigned integer member key, read as SPDK reads JSON
// numbers: 1e2 and 100.0 are 100, as for SPDK's decoder, while Go's would
// refuse them (and a guard that let SPDK answer such params would not have
// judged the size SPDK applies).
func (p Params) Uint(key string) (v uint64, ok bool, err error) {
	i, found := p.find(key)
	if !found {
		return 0, false, nil
	}
	v, err = spdkUint(p.members[i].raw)
	if err != nil {
		return 0, true, fmt.Errorf("%q: %w", key, err)
	}
	return v, true, nil
}

// spdkUint reads a JSON number as SPDK's spdk_json_number_to_uint64 does:
// significand and exponent, fraction digits folded into the exponent,
// trailing zeros traded for exponent; what is left must be a non-negative
// integer that fits.
func spdkUint(raw json.RawMessage) (uint64, error) {
	t := string(raw) // as the decoder cut it: no surrounding space
	if t == "" || !(t[0] == '-' || '0' <= t[0] && t[0] <= '9') || !json.Valid([]byte(t)) {
		return 0, errors.New("must be an unsigned integer")
	}
	neg := t[0] == '-'
	if neg {
		t = t[1:]
	}
	var sig, exp uint64
	var frac int64
	var expNeg bool
	state, pval := 0, &sig
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '.':
			state = 1
		case c == 'e' || c == 'E':
			state, pval = 2, &exp
		case c == '-':
			expNeg = true
		case c == '+':
		case c < '0' || c > '9':
			return 0, errors.New("must be an unsigned integer")
		default:
			d := uint64(c - '0')
			if *pval > (math.MaxUint64-d)/10 {
				return 0, errors.New("out of range")
			}
			if state == 1 {
				frac++
			}
			*pval = *pval*10 + d
		}
	}
	if exp > math.MaxInt64 {
		return 0, errors.New("out of range")
	}
	e := int64(exp)
	if expNeg {
		e = -e
	}
	e -= frac
	for e < 0 && sig >= 10 && sig%10 == 0 {
		sig /= 10
		e++
	}
	for e > 0 && sig <= math.MaxUint64/10 {
		sig *= 10
		e--
	}
	if e != 0 || neg {
		return 0, errors.New("out of range for an unsigned integer")
	}
	return sig, nil
}

// With returns a copy of p with key set to the string v, in key's place
// if present, else at the end.
func (p Params) With(key, v string) Params {
	raw, _ := json.Marshal(v) // a string always encodes
	out := Params{members: make([]member, 0, len(p.members)+1)}
	replaced := false
	for _, m := range p.members {
		if m.key == key {
			m.raw, replaced = raw, true
		}
		out.members = append(out.members, m)
	}
	if !replaced {
		out.members = append(out.members, member{key: key, raw: raw})
	}
	return out
}

// Without returns a copy of p without key.
func (p Params) Without(key string) Params {
	out := Params{absent: p.absent, members: make([]member, 0, len(p.members))}
	for _, m := range p.members {
		if m.key != key {
			out.members = append(out.members, m)
		}
	}
	return out
}

// Encode returns the params to forward: every member re-encoded from the
// value that was read, so that what SPDK decodes is what the guard judged.
// Absent params stay absent (nil).
func (p Params) Encode() json.RawMessage {
	if p.absent && len(p.members) == 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range p.members {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(canonical(m.raw))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// canonical re-encodes one JSON value compactly, strings through Go's
// encoder (so escapes such as \u0041 reach SPDK as the plain characters the
// guard compared).
func canonical(raw json.RawMessage) []byte {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}
