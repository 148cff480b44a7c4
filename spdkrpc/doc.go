// Package spdkrpc speaks SPDK's JSON-RPC: the wire types of its answers, the
// typed identities of SPDK objects, and a pipelined, reconnecting client.
//
// Only this package knows SPDK's framing and error conventions; everything
// above it works with typed values and sentinel errors.
package spdkrpc
