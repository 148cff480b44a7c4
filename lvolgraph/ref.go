package lvolgraph

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// RefKind says what a Ref's text is.
type RefKind uint8

const (
	// RefName is a bare name: an lvstore name, or an lvol name within an
	// lvstore that the query fixes (a bare lvol name is ambiguous across
	// lvstores and is resolved only where it is unique).
	RefName RefKind = iota + 1
	// RefUUID is a UUID: an lvstore UUID or an lvol UUID (which is also
	// the lvol's bdev name).
	RefUUID
	// RefAlias is "<lvstore name>/<lvol name>".
	RefAlias
)

func (k RefKind) String() string {
	switch k {
	case RefName:
		return "name"
	case RefUUID:
		return "uuid"
	case RefAlias:
		return "alias"
	}
	return fmt.Sprintf("RefKind(%d)", uint8(k))
}

// Ref names an lvstore or an lvol by one identity whose kind is explicit, so
// that resolving "a name or a UUID" is a decision taken once, in ParseRef,
// and never a comparison of a name with a UUID (design invariant 1).
type Ref struct {
	Kind  RefKind `json:"kind"`
	Value string  `json:"value"`
}

// ParseRef classifies s the way SPDK's RPCs accept identities: the canonical
// 36-character UUID form is a UUID, text with a slash is an alias, anything
// else is a name. An lvol deliberately named like a UUID must be referred to
// with NameRef or AliasRef.
func ParseRef(s string) Ref {
	switch {
	case spdkrpc.IsUUID(s):
		return Ref{Kind: RefUUID, Value: s}
	case containsSlash(s):
		return Ref{Kind: RefAlias, Value: s}
	}
	return Ref{Kind: RefName, Value: s}
}

// NameRef refers to an object by its name.
func NameRef[T ~string](name T) Ref { return Ref{Kind: RefName, Value: string(name)} }

// UUIDRef refers to an object by its UUID.
func UUIDRef[T ~string](uuid T) Ref { return Ref{Kind: RefUUID, Value: string(uuid)} }

// AliasRef refers to an lvol by its alias.
func AliasRef(a spdkrpc.LvolAlias) Ref { return Ref{Kind: RefAlias, Value: string(a)} }

// MarshalText renders the kind as "name", "uuid" or "alias".
func (k RefKind) MarshalText() ([]byte, error) {
	if k < RefName || k > RefAlias {
		return nil, fmt.Errorf("%w: %s", ErrBadRef, k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText parses "name", "uuid" or "alias".
func (k *RefKind) UnmarshalText(b []byte) error {
	for _, c := range []RefKind{RefName, RefUUID, RefAlias} {
		if string(b) == c.String() {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("%w: unknown kind %q", ErrBadRef, b)
}

// ErrBadRef is returned when decoding a Ref that is neither a string nor a
// {"kind","value"} object with a known kind and a value.
var ErrBadRef = errors.New("invalid reference")

// UnmarshalJSON accepts a plain string, classified by ParseRef, or an
// object {"kind": "name"|"uuid"|"alias", "value": "..."} that says which
// kind it is.
func (r *Ref) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s == "" {
			return fmt.Errorf("%w: empty", ErrBadRef)
		}
		*r = ParseRef(s)
		return nil
	}
	var obj struct {
		Kind  RefKind `json:"kind"`
		Value string  `json:"value"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRef, err)
	}
	if obj.Value == "" || obj.Kind == 0 {
		return fmt.Errorf("%w: kind and value are required", ErrBadRef)
	}
	*r = Ref{Kind: obj.Kind, Value: obj.Value}
	return nil
}

func (r Ref) String() string { return r.Kind.String() + ":" + r.Value }

// Valid reports whether r has a known kind and a non-empty value.
func (r Ref) Valid() bool { return r.Kind >= RefName && r.Kind <= RefAlias && r.Value != "" }

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}
