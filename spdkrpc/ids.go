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

// Split returns the lvstore and lvol name of an alias. It splits at the first
// slash because lvstore names cannot hold one while lvol names can ("a/b" is a
// valid lvol name). ok is false when there is no slash.
func (a LvolAlias) Split() (lvs LvstoreName, name LvolName, ok bool) {
	for i := 0; i < len(a); i++ {
		if a[i] == '/' {
			return LvstoreName(a[:i]), LvolName(a[i+1:]), true
		}
	}
	return "", "", false
}
