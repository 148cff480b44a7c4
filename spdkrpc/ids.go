package spdkrpc

// Identities of SPDK objects. Each kind is its own type so that a name can never
// be compared with a UUID by accident (design invariant 1): `LvolName("x") ==
// LvolUUID("x")` does not compile. Conversions between kinds are explicit and
// live in the code that resolves one into the other.

// LvstoreUUID is the UUID SPDK assigns to an lvstore at creation.
type LvstoreUUID string

// LvstoreName is an lvstore's name (at most 63 bytes).
type LvstoreName string

// LvolUUID is an lvol's UUID; it is also the name of the lvol's bdev.
type LvolUUID string

// LvolName is an lvol's name within its lvstore, without the "lvs/" prefix.
type LvolName string

// LvolAlias is "<lvstore name>/<lvol name>", the lvol bdev's alias.
type LvolAlias string

// BdevName is the name of any bdev (for lvol bdevs this is the lvol UUID).
type BdevName string

// BdevUUID is a bdev's UUID.
type BdevUUID string

// MakeAlias builds the alias SPDK gives an lvol named name in lvstore lvs.
func MakeAlias(lvs LvstoreName, name LvolName) LvolAlias {
	return LvolAlias(string(lvs) + "/" + string(name))
}

// NameIn returns the lvol name of an alias of an lvol in the lvstore named
// lvs; ok is false when a is not such an alias. Prefer it to Split when the
// lvstore is known: SPDK does not refuse a '/' in lvstore names either.
func (a LvolAlias) NameIn(lvs LvstoreName) (name LvolName, ok bool) {
	n := len(lvs)
	if n == 0 || len(a) <= n+1 || string(a[:n]) != string(lvs) || a[n] != '/' {
		return "", false
	}
	return LvolName(a[n+1:]), true
}

// Split returns the lvstore and lvol name of an alias. It splits at the first
// slash, which is right while lvstore names hold none (lvol names may: "a/b"
// is a valid lvol name); see NameIn. ok is false when there is no slash.
func (a LvolAlias) Split() (lvs LvstoreName, name LvolName, ok bool) {
	for i := 0; i < len(a); i++ {
		if a[i] == '/' {
			return LvstoreName(a[:i]), LvolName(a[i+1:]), true
		}
	}
	return "", "", false
}

// LvolRef names an lvol the way SPDK's lvol methods accept it: either its
// alias "lvs/name" or its UUID. SPDK resolves either form itself, so a ref
// is only ever passed through, never compared; build one from a typed
// identity with LvolAlias.Ref or LvolUUID.Ref.
type LvolRef string

// BdevRef names a bdev the way SPDK's bdev arguments accept it: its name, an
// alias, or its UUID. Like LvolRef it is only passed through to SPDK.
type BdevRef string

// Ref returns the alias as an lvol reference.
func (a LvolAlias) Ref() LvolRef { return LvolRef(a) }

// Ref returns the UUID as an lvol reference.
func (u LvolUUID) Ref() LvolRef { return LvolRef(u) }

// BdevRef returns the lvol's bdev: an lvol's UUID is its bdev's name.
func (u LvolUUID) BdevRef() BdevRef { return BdevRef(u) }

// Ref returns the name as a bdev reference.
func (n BdevName) Ref() BdevRef { return BdevRef(n) }

// Ref returns the UUID as a bdev reference.
func (u BdevUUID) Ref() BdevRef { return BdevRef(u) }

// LvstoreID selects an lvstore by UUID or by name, never both (SPDK rejects
// both with EINVAL). The zero value selects none, which listing methods read
// as "all lvstores".
type LvstoreID struct {
	uuid LvstoreUUID
	name LvstoreName
}

// LvsByUUID selects the lvstore with UUID u.
func LvsByUUID(u LvstoreUUID) LvstoreID { return LvstoreID{uuid: u} }

// LvsByName selects the lvstore named n.
func LvsByName(n LvstoreName) LvstoreID { return LvstoreID{name: n} }

// IsZero reports whether id selects no lvstore.
func (id LvstoreID) IsZero() bool { return id.uuid == "" && id.name == "" }

// String returns the UUID or the name, for messages.
func (id LvstoreID) String() string {
	if id.uuid != "" {
		return "uuid " + string(id.uuid)
	}
	return string(id.name)
}

// IsUUID reports whether s is in the 8-4-4-4-12 hexadecimal form SPDK
// prints UUIDs in (either case). It says nothing of which kind of UUID.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
