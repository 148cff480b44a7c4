// Package spdkrpc speaks SPDK's JSON-RPC: the wire types of its answers, the
// typed identities of SPDK objects, and a pipelined, reconnecting client.
//
// Only this package knows SPDK's framing and error conventions; everything
// above it works with typed values and sentinel errors.
//
// # Clients
//
// [New] returns a [*Client] that connects to spdk_tgt's Unix socket in the
// background and stays connected: when the connection breaks it redials
// with jittered exponential backoff (50 ms to 2 s by default, see
// [Options]). [Dial] does the same and waits for the first connection.
// [Options].Logger hears of each connection and each loss once; a run of
// failed attempts is logged at warning level when it starts and then at
// most every 30 s, each attempt in between at debug level.
// On every connection the client learns spdk_get_version and
// rpc_get_methods; [Client.Version] and [Client.HasMethod] report them, and
// a call of a method this SPDK lacks fails without a round trip.
//
// Typed methods cover the lvol methods (CreateLvstore ... CheckShallowCopy),
// the bdev methods the agent needs, notifications and framework calls.
// [Client.Call] and [Client.CallRaw] reach any other method; CallRaw passes
// params and results through unchanged for proxies. A nil params sends no
// "params" member: SPDK rejects any, even {}, on methods that take none.
//
//	c := spdkrpc.New("/var/tmp/spdk.sock", spdkrpc.Options{})
//	defer c.Close()
//	if err := c.WaitConnected(ctx); err != nil {
//		return err
//	}
//	uuid, err := c.CreateLvol(ctx, spdkrpc.CreateLvolParams{
//		Lvs: spdkrpc.LvsByName("lvs0"), Name: "vol1", SizeMiB: 1024, ThinProvision: true,
//	})
//	if errors.Is(err, spdkrpc.ErrExists) {
//		// the name is taken
//	}
//
// On the wire, requests are compact JSON values written back to back and
// replies are read as a stream of JSON values. A reply that is not valid
// JSON, or larger than [MaxReplySize], drops the connection: SPDK's stream
// has no resync point. A request larger than [MaxRequestSize] is refused
// before it is sent, because SPDK would reset the connection and lose every
// other call in flight.
//
// # Errors
//
// Every error names the method (and the typed methods the objects) and
// wraps a sentinel: [ErrDisconnected] when the connection is down or broke
// during the call, [ErrClosed], [ErrRequestTooLarge], or the classification
// of SPDK's answer: [ErrNotFound], [ErrExists], [ErrNotPermitted], [ErrBusy],
// [ErrInvalidArgument], [ErrNoSpace], [ErrNoMemory], [ErrMethodNotFound],
// [ErrInvalidParams], [ErrInvalidRequest]. SPDK reports one condition in
// several ways (-17 "File exists" from one method, -32602 "File exists"
// from another), so one table matches both the code and the message. The
// answer itself stays reachable as an [*Error] with errors.As.
//
//	var se *spdkrpc.Error
//	if errors.As(err, &se) {
//		log.Printf("SPDK said %d %q", se.Code, se.Message)
//	}
//
// # Concurrency
//
// A Client is safe for concurrent use, and concurrent calls are pipelined on
// its one connection: replies come back in completion order and are matched
// by id. 50 calls from 50 goroutines cost about one SPDK poll period (4 ms)
// where 50 sequential calls cost fifty. [Options].MaxInFlight caps the calls
// in flight.
//
// Every call takes a context. When it ends, the call returns at once and
// frees its slot; SPDK cannot be told to stop, so it still executes the call
// and its late reply is discarded. While disconnected, calls fail at once
// with ErrDisconnected; [Client.WaitConnected] waits for the connection and
// [Client.Reconnect] redials without waiting for the backoff (for example
// when a new socket file appears). [Client.Close] waits for every goroutine
// the client started.
package spdkrpc
