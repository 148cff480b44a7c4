package spdkrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/creachadair/jrpc2"
	"github.com/creachadair/jrpc2/channel"
)

// errNoResult is returned for a reply with neither result nor error, which
// SPDK never sends.
var errNoResult = errors.New("the reply has neither a result nor an error")

// errConnClosed is the cause recorded when the client itself closes a
// connection (Close, or Reconnect to a new socket).
var errConnClosed = errors.New("connection closed by the client")

// spdkChannel is a jrpc2 channel.Channel over one connection to SPDK: it
// writes each request as one compact JSON value, with nothing around it, and
// reads replies with a replyDecoder.
//
// Send only queues: a writer goroutine writes what is queued, several
// requests per write when they pile up. jrpc2 calls Send under its client
// lock, so a write that blocks (SPDK not reading) must not hold up callers
// whose context ends; it is bounded by the write timeout instead.
//
// The first failure in either direction is recorded as the connection's
// cause and closes the socket, so that the reader stops and jrpc2 fails
// every pending call. Recv's errors wrap channel.ErrClosed on purpose: jrpc2
// then completes pending calls with a plain cancellation instead of an
// internal-error reply that could be mistaken for one from SPDK; the client
// tells the two apart by the recorded cause.
type spdkChannel struct {
	nc           net.Conn
	dec          *replyDecoder
	writeTimeout time.Duration

	qmu   sync.Mutex // protects queue
	queue net.Buffers
	wake  chan struct{} // buffered 1: the queue is not empty
	wrote chan struct{} // closed when the writer has stopped

	once  sync.Once
	cause error         // set once, before dead is closed
	dead  chan struct{} // closed when the connection has failed

	// jrpc2 hands each value Recv returns to a goroutine of its own and,
	// when the next Recv fails, cancels the calls still pending: a reply
	// read just before the end of the stream could lose that race and its
	// call report a disconnect. Recv therefore holds the end back until the
	// calls have taken the replies it returned, or until endGrace passes
	// (a reply nobody waits for any more is never taken).
	replyMu  sync.Mutex // protects the fields below
	replyCnd *sync.Cond // signals taken; uses replyMu
	returned int        // values Recv returned
	taken    int        // replies calls received
}

// endGrace bounds how long Recv holds back the end of the stream for
// replies not yet taken by their calls.
const endGrace = 250 * time.Millisecond

// newChannel starts the channel's writer; it stops when the channel fails
// or closes, and waitWriter waits for it.
func newChannel(nc net.Conn, writeTimeout time.Duration, maxReply int) *spdkChannel {
	ch := &spdkChannel{
		nc:           nc,
		dec:          newReplyDecoder(nc, maxReply),
		writeTimeout: writeTimeout,
		wake:         make(chan struct{}, 1),
		wrote:        make(chan struct{}),
		dead:         make(chan struct{}),
	}
	ch.replyCnd = sync.NewCond(&ch.replyMu)
	go ch.writer()
	return ch
}

// Send implements channel.Channel.
func (ch *spdkChannel) Send(b []byte) error {
	if len(b) > MaxRequestSize {
		// The client checks before calling jrpc2; this guards the wire.
		return fmt.Errorf("%w: %d bytes, limit %d", ErrRequestTooLarge, len(b), MaxRequestSize)
	}
	if err := ch.err(); err != nil {
		return err
	}
	ch.qmu.Lock()
	ch.queue = append(ch.queue, b)
	ch.qmu.Unlock()
	select {
	case ch.wake <- struct{}{}:
	default:
	}
	return nil
}

func (ch *spdkChannel) writer() {
	defer close(ch.wrote)
	for {
		select {
		case <-ch.dead:
			return
		case <-ch.wake:
		}
		ch.qmu.Lock()
		bufs := ch.queue
		ch.queue = nil
		ch.qmu.Unlock()
		if ch.writeTimeout > 0 {
			_ = ch.nc.SetWriteDeadline(time.Now().Add(ch.writeTimeout))
		}
		if _, err := bufs.WriteTo(ch.nc); err != nil {
			ch.fail(fmt.Errorf("writing requests: %w", err))
			return
		}
	}
}

// waitWriter waits for the writer to stop; the channel must have failed.
func (ch *spdkChannel) waitWriter() { <-ch.wrote }

// Recv implements channel.Channel.
func (ch *spdkChannel) Recv() ([]byte, error) {
	v, err := ch.dec.Next()
	if err != nil {
		ch.awaitTaken()
		if err == io.EOF {
			err = fmt.Errorf("SPDK closed the connection: %w", err)
		} else {
			err = fmt.Errorf("reading replies: %w", err)
		}
		ch.fail(err)
		return nil, fmt.Errorf("%w: %w", channel.ErrClosed, ch.err())
	}
	ch.replyMu.Lock()
	ch.returned++
	ch.replyMu.Unlock()
	return v, nil
}

// took records that a call received its reply.
func (ch *spdkChannel) took() {
	ch.replyMu.Lock()
	ch.taken++
	ch.replyCnd.Broadcast()
	ch.replyMu.Unlock()
}

// awaitTaken waits until every value returned by Recv was taken by its
// call, at most endGrace.
func (ch *spdkChannel) awaitTaken() {
	expired := false // protected by replyMu
	t := time.AfterFunc(endGrace, func() {
		ch.replyMu.Lock()
		expired = true
		ch.replyCnd.Broadcast()
		ch.replyMu.Unlock()
	})
	defer t.Stop()
	ch.replyMu.Lock()
	for ch.taken < ch.returned && !expired {
		ch.replyCnd.Wait()
	}
	ch.replyMu.Unlock()
}

// Close implements channel.Channel.
func (ch *spdkChannel) Close() error {
	ch.fail(errConnClosed)
	return nil
}

func (ch *spdkChannel) fail(cause error) {
	ch.once.Do(func() {
		ch.cause = cause
		_ = ch.nc.Close()
		close(ch.dead)
	})
}

// err returns the recorded cause, or nil while the connection is healthy.
func (ch *spdkChannel) err() error {
	select {
	case <-ch.dead:
		return ch.cause
	default:
		return nil
	}
}

// conn is one live connection to SPDK with what it learned at connect time.
type conn struct {
	ch      *spdkChannel
	jc      *jrpc2.Client
	file    os.FileInfo // the socket file as it was when dialed; nil if unknown
	version string
	methods map[string]bool // nil when SPDK did not list its methods
	since   time.Time
}

// dialConn connects to path and learns SPDK's version and methods, both
// requests pipelined on the new connection.
func dialConn(ctx context.Context, path string, o *Options) (*conn, error) {
	file, _ := os.Stat(path)
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	ch := newChannel(nc, o.WriteTimeout, o.MaxReply)
	cn := &conn{ch: ch, jc: jrpc2.NewClient(ch, nil), file: file}

	hctx, cancel := context.WithTimeout(ctx, o.HandshakeTimeout)
	defer cancel()
	var version struct {
		Version string `json:"version"`
	}
	var methods []string
	var verr, merr error
	var wg sync.WaitGroup
	wg.Go(func() { verr = cn.callInto(hctx, "spdk_get_version", nil, &version) })
	wg.Go(func() { merr = cn.callInto(hctx, "rpc_get_methods", nil, &methods) })
	wg.Wait()
	for _, err := range []error{verr, merr} {
		// An error answer only means this server lacks the method; anything
		// else means the connection is not usable.
		if err != nil && !errors.As(err, new(*Error)) {
			cn.close(err)
			return nil, fmt.Errorf("handshake: %w", err)
		}
	}
	cn.version = version.Version
	if merr == nil {
		cn.methods = make(map[string]bool, len(methods))
		for _, m := range methods {
			cn.methods[m] = true
		}
	}
	cn.since = time.Now()
	return cn, nil
}

// has reports whether SPDK listed method; true when it listed nothing.
func (cn *conn) has(method string) bool {
	return cn.methods == nil || cn.methods[method]
}

// close fails the connection with cause and waits for its goroutines.
func (cn *conn) close(cause error) {
	cn.ch.fail(cause)
	_ = cn.jc.Close()
	cn.ch.waitWriter()
}

func (cn *conn) callInto(ctx context.Context, method string, params json.RawMessage, result any) error {
	raw, err := cn.call(ctx, method, params)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, result)
}

// call sends one request and waits for its reply or the end of ctx.
//
// What jrpc2 (v1.3) sends and does, checked in its source: requests are
// {"jsonrpc":"2.0","id":N,"method":M[,"params":P]} with integer ids counting
// from 1 per connection and no params member when params is nil. When ctx
// ends first the call returns at once and the id is forgotten, so a late
// reply (like any reply with an unknown id) is dropped; a cancellation
// notice ("rpc.cancel") would only be sent by an OnCancel hook, which is not
// set. Each value read is delivered on its own goroutine.
func (cn *conn) call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	var p any
	if len(params) != 0 {
		p = params
	}
	rsp, err := cn.jc.Call(ctx, method, p)
	if err != nil {
		err = cn.classify(ctx, err)
		if errors.As(err, new(*Error)) {
			cn.ch.took()
		}
		return nil, err
	}
	cn.ch.took()
	var raw json.RawMessage
	_ = rsp.UnmarshalResult(&raw) // never fails for *json.RawMessage
	if len(raw) == 0 {
		return nil, errNoResult
	}
	return raw, nil
}

// classify turns an error from jrpc2 into one of ours.
func (cn *conn) classify(ctx context.Context, err error) error {
	var je *jrpc2.Error
	if errors.As(err, &je) && je.Code != jrpc2.Cancelled && je.Code != jrpc2.DeadlineExceeded {
		// An answer from SPDK.
		return &Error{Code: int(je.Code), Message: je.Message, Data: je.Data}
	}
	if errors.Is(err, ErrRequestTooLarge) {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if cause := cn.ch.err(); cause != nil {
		return fmt.Errorf("%w: %w", ErrDisconnected, cause)
	}
	return err
}
