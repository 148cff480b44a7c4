// Package agent is the daemon: it follows SPDK, publishes lvol graphs,
// answers queries and guards SPDK calls.
package agent
