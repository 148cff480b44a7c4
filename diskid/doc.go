// Package diskid gives disks identities whose short prefixes never collide,
// and persists them so that nothing is ever half-written.
package diskid
