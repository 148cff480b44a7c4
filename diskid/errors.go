package diskid

import "errors"

// Sentinel errors. Every error the package returns wraps one of these with
// %w together with the path, UUID or registry entry involved, so callers
// classify with errors.Is and operators read what went wrong where.
var (
	// ErrMalformedUUID is returned when a string is not a canonical
	// 36-character hyphenated hex UUID, or is the nil UUID.
	ErrMalformedUUID = errors.New("malformed disk UUID")

	// ErrIdentityMissing is returned when a disk directory holds no identity
	// file. Only Init creates one; every other path reports it.
	ErrIdentityMissing = errors.New("disk identity file missing")
	// ErrIdentityEmpty is returned for an identity file of zero bytes (or
	// only white space): a write that never completed on a system without
	// atomic renames, or a file truncated by hand.
	ErrIdentityEmpty = errors.New("disk identity file is empty")
	// ErrIdentityCorrupt is returned for an identity file that is truncated,
	// is not the expected JSON, or holds a malformed UUID.
	ErrIdentityCorrupt = errors.New("disk identity file is corrupt")
	// ErrIdentityVersion is returned for an identity file whose format
	// version this agent does not know (written by a newer agent).
	ErrIdentityVersion = errors.New("unsupported disk identity format version")
	// ErrIdentityExists is returned by CreateIdentity when the disk already
	// has an identity: identities are created exactly once.
	ErrIdentityExists = errors.New("disk identity already exists")
	// ErrIdentityChanged is returned when an identity changed between the
	// time it was read and the time it was to be replaced.
	ErrIdentityChanged = errors.New("disk identity changed underneath")
	// ErrNotRegular is returned when the identity path is a symlink or not a
	// regular file; it is never followed.
	ErrNotRegular = errors.New("not a regular file")

	// ErrLocked is returned when another writer holds a disk's lock for
	// longer than the caller's context allows.
	ErrLocked = errors.New("disk identity is locked by another writer")

	// ErrDiskMissing is returned when a disk directory does not exist (it
	// was deleted or unmounted under the agent).
	ErrDiskMissing = errors.New("disk directory missing")
	// ErrDiskInUse is returned when regenerating a disk that holds more
	// than its identity file, or carries an lvstore, without force.
	ErrDiskInUse = errors.New("disk is in use")
	// ErrUnknownDisk is returned for a path the manager does not manage.
	ErrUnknownDisk = errors.New("unknown disk")
	// ErrForceRequired is returned when an operation that may break users
	// of a disk is asked for without force.
	ErrForceRequired = errors.New("force required")

	// ErrPrefixSpaceFull is returned when no free prefix was found within
	// the bounded number of attempts; the message suggests a longer prefix.
	ErrPrefixSpaceFull = errors.New("disk UUID prefix space nearly full")

	// ErrRegistryEmpty is returned for a registry with no disks at all.
	ErrRegistryEmpty = errors.New("disk registry is empty")
	// ErrRegistryInvalid is returned for a registry that does not parse or
	// holds an invalid entry.
	ErrRegistryInvalid = errors.New("disk registry is invalid")
	// ErrRegistryImplausible is returned for a registry update that drops
	// more known disks at once than the configured threshold allows.
	ErrRegistryImplausible = errors.New("disk registry update is implausible")
	// ErrNoRegistry is returned when a registry is configured but neither
	// the mounted file nor the saved copy holds a good one.
	ErrNoRegistry = errors.New("no good disk registry known")

	// ErrPrefixClaimed is returned by a ClaimStore when another disk holds
	// the claim of a prefix.
	ErrPrefixClaimed = errors.New("disk UUID prefix claimed by another disk")
	// ErrRegistryNotSynced is returned when a UUID would be generated while
	// the cluster's claims are not known to be current: an unsynced or
	// unreachable registry is never taken to mean "no other disks".
	ErrRegistryNotSynced = errors.New("cluster disk registry not synced")
)
