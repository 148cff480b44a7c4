// Package spdkserver serves JSON-RPC on a Unix socket with SPDK's exact
// framing: concatenated JSON requests, one compact reply line each, replies in
// completion order, no reply to notifications, and a closed connection (no
// reply) on bytes that cannot be JSON.
//
// Both the SPDK simulator and the agent's SPDK-compatible socket are built on
// it, so a client cannot tell them from spdk_tgt by their framing.
package spdkserver
