// Package spdkserver serves JSON-RPC on a Unix socket with SPDK's exact
// framing: concatenated JSON requests, one compact reply line each, replies in
// completion order, no reply to notifications, and a closed connection (no
// reply) on bytes that cannot be JSON.
//
// Both the SPDK simulator and the agent's SPDK-compatible socket are built on
// it, so a client cannot tell them from spdk_tgt by their framing.
//
// # Servers
//
// A [Server] answers with a [Handler]:
//
//	srv := spdkserver.New(handler, spdkserver.Options{
//		PollInterval: 4 * time.Millisecond, // spdk_tgt's RPC poller
//		Async:        func(m string) bool { return m == "bdev_lvol_create" },
//	})
//	err := srv.ListenAndServe(ctx, "/var/tmp/spdk.sock", 0o600)
//
// # Framing
//
// The rules come from recordings of a real spdk_tgt v26.05:
//
//   - Input is a stream of JSON values, touching or separated by whitespace;
//     a value split across writes waits for the rest. [Splitter] does this
//     cutting, with no I/O, and is usable on its own.
//   - Each answer is compact JSON and "\n", members in the order jsonrpc, id,
//     result or error; the id is echoed byte for byte.
//   - No id or a null id is a notification: the handler runs, nothing is
//     sent (also not for a notification refused for its params).
//   - Anything that is JSON but not a request (not an object, "jsonrpc"
//     other than "2.0", method missing or not a string, id neither string,
//     number nor null, "[]") gets -32600 Invalid request with a null id;
//     params neither object nor array get -32600 with the request's id.
//     Other members are ignored. The connection stays open.
//   - A batch gets one line holding an array of the answers, in completion
//     order, once all members answered; a batch of notifications gets none.
//   - Bytes that cannot be JSON, a request of more than [MaxRequestSize]
//     bytes or of more than [MaxValues] values close the connection without
//     any reply; answers to requests read together with the bad bytes are
//     lost with it.
//   - At most [MaxConns] connections are served; further ones are accepted
//     and closed at once, so the client reads EOF.
//
// # Concurrency
//
// Each connection has a reader, a handler loop and a writer goroutine. The
// Handler is called on the handler loop, in request order; a ReplyFunc may
// be called from any goroutine, and answers leave in the order they are
// given. Every setting (poll interval, async methods, faults) may change
// while the server runs. [Server.Close] and the cancellation of Serve's
// context stop every goroutine and wait for them; handlers see their
// request context cancelled when their connection closes, and must stop
// their own goroutines then. [Server.Shutdown] stops gracefully instead:
// nothing new is accepted or read, and every connection closes once the
// answers to the requests it already read are written.
//
// # Faults
//
// For tests, [Server.SetDelay], [Server.SetHang], [Server.DropConnections]
// and [Server.Crash] (or a reply with [ErrCrash]) reproduce slow, hung and
// crashed targets: after a crash the socket file stays and connects are
// refused, as with a dead spdk_tgt.
package spdkserver
