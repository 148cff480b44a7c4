package guard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// maxExponent bounds the exponent of a JSON number SPDK is given. SPDK's
// number decoder multiplies the significand by ten once per unit of
// exponent until it would overflow, and a zero significand never does: a
// param such as 0e7777777777777777 keeps spdk_tgt's reactor busy for
// centuries (0e4000000000 takes 2 s), whatever the method, read-only ones
// included.
const maxExponent = 1000

// CheckNumbers refuses params holding a number SPDK would spin on.
func CheckNumbers(raw json.RawMessage) error {
	if !mayHoldExponent(raw) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // not JSON: SPDK answers a parse error itself
		}
		n, ok := tok.(json.Number)
		if !ok {
			continue
		}
		s := string(n)
		i := strings.IndexAny(s, "eE")
		if i < 0 {
			continue
		}
		e := strings.TrimLeft(s[i+1:], "+-")
		if v, err := strconv.ParseUint(e, 10, 64); err != nil || v > maxExponent {
			return fmt.Errorf("%w: the number %.40s has an exponent SPDK's decoder would spend far too long on", ErrBadString, s)
		}
	}
}

// mayHoldExponent is a cheap first pass: a digit or a point followed by e
// or E somewhere.
func mayHoldExponent(raw []byte) bool {
	for i := 1; i < len(raw); i++ {
		if c := raw[i]; c == 'e' || c == 'E' {
			if p := raw[i-1]; p >= '0' && p <= '9' || p == '.' {
				return true
			}
		}
	}
	return false
}
