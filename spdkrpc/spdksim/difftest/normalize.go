package difftest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrToken is returned for a request that names a UUID token this side
// has not seen (a replayed script with steps left out).
var ErrToken = errors.New("difftest: UUID token not seen on this side")

var (
	uuidRe  = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	tokenRe = regexp.MustCompile(`@([Uu])([0-9]+)@`)
)

// normalizer maps one side's UUIDs to tokens in order of first sight, and
// its aio directory to @DIR@.
type normalizer struct {
	dir    string
	tokens map[string]int // lowercase UUID -> token number
	uuids  []string       // token number -> lowercase UUID
}

func newNormalizer(dir string) *normalizer {
	return &normalizer{dir: dir, tokens: map[string]int{}}
}

// token returns the token of u, numbering it if it is new.
func (n *normalizer) token(u string) string {
	u = strings.ToLower(u)
	t, ok := n.tokens[u]
	if !ok {
		t = len(n.uuids)
		n.tokens[u] = t
		n.uuids = append(n.uuids, u)
	}
	return "@U" + strconv.Itoa(t) + "@"
}

// str normalizes one string.
func (n *normalizer) str(s string) string {
	if n.dir != "" {
		s = strings.ReplaceAll(s, n.dir, "@DIR@")
	}
	return uuidRe.ReplaceAllStringFunc(s, n.token)
}

// value normalizes a decoded JSON value in place, depth first in document
// order (object members by sorted key, as they are marshalled).
func (n *normalizer) value(v any) any {
	switch x := v.(type) {
	case string:
		return n.str(x)
	case []any:
		for i := range x {
			x[i] = n.value(x[i])
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			x[k] = n.value(x[k])
		}
	}
	return v
}

// reply normalizes one reply line to {"result":...} or {"error":...}, or
// says why it is not a reply.
func (n *normalizer) reply(line []byte) (string, error) {
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return "", fmt.Errorf("difftest: reply is not JSON: %w", err)
	}
	key, raw := "result", r.Result
	if r.Error != nil {
		key, raw = "error", r.Error
	}
	v, err := decode(raw)
	if err != nil {
		return "", err
	}
	out, err := json.Marshal(map[string]any{key: n.value(v)})
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// fill replaces the tokens in a normalized request with this side's
// values: @U3@ the UUID, @u3@ the same in capitals, @DIR@ the directory.
func (n *normalizer) fill(s string) (string, error) {
	var bad error
	s = tokenRe.ReplaceAllStringFunc(s, func(t string) string {
		m := tokenRe.FindStringSubmatch(t)
		i, _ := strconv.Atoi(m[2])
		if i >= len(n.uuids) {
			bad = fmt.Errorf("%w: %s", ErrToken, t)
			return t
		}
		if m[1] == "u" {
			return strings.ToUpper(n.uuids[i])
		}
		return n.uuids[i]
	})
	return strings.ReplaceAll(s, "@DIR@", n.dir), bad
}

func decode(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("difftest: decode %.80s: %w", raw, err)
	}
	return v, nil
}
