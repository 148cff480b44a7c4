package spdkrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// Options configures a Client. The zero value is ready to use.
type Options struct {
	// MinBackoff and MaxBackoff bound the jittered, exponentially growing
	// delay between redials (defaults 50 ms and 2 s).
	MinBackoff, MaxBackoff time.Duration

	// HandshakeTimeout bounds the spdk_get_version and rpc_get_methods calls
	// made on every new connection (default 5 s).
	HandshakeTimeout time.Duration

	// WriteTimeout bounds writing one request to the socket (default 10 s).
	// A write that cannot finish means SPDK stopped reading: the connection
	// is dropped.
	WriteTimeout time.Duration

	// MaxReply is the size at which a reply that has not ended is taken as
	// cut by SPDK's send buffer (default MaxReplySize, SPDK's). Only a
	// target built with another limit, or a simulator set to cut earlier,
	// needs another value.
	MaxReply int

	// MaxInFlight caps the calls in flight on the connection (default 256).
	// A call waits for a free slot until its context ends.
	MaxInFlight int

	// Observer, when set, is told about every call and connection change.
	Observer Observer

	// Logger receives connection events (default: discarded).
	Logger *slog.Logger
}

// Observer receives events for metrics. Its methods are called
// synchronously and must not block or call back into the Client.
type Observer interface {
	// CallDone is called when a call returns, with its duration and error.
	CallDone(method string, d time.Duration, err error)
	// Connected is called after a connection is made and its handshake done.
	Connected(version string)
	// Disconnected is called when a connection is lost, with the cause.
	Disconnected(err error)
}

func (o Options) withDefaults() Options {
	if o.MinBackoff <= 0 {
		o.MinBackoff = 50 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(2*time.Second, o.MinBackoff)
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 256
	}
	if o.MaxReply <= 0 {
		o.MaxReply = MaxReplySize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Client is a pipelined, reconnecting client of SPDK's JSON-RPC server. It
// is safe for concurrent use; concurrent calls share one connection and are
// in flight together.
type Client struct {
	path  string
	opts  Options
	slots chan struct{} // one token per call in flight
	kick  chan struct{} // Reconnect requests, buffered 1
	stop  context.CancelFunc
	done  <-chan struct{} // closed by Close
	wg    sync.WaitGroup

	mu      sync.Mutex    // protects the fields below
	cur     *conn         // nil while disconnected
	up      chan struct{} // closed when cur is set; replaced when it is lost
	lastErr error         // why cur is nil
	version string        // of the latest connection
}

// New returns a client of the SPDK socket at socketPath and starts
// connecting in the background. It is safe to use at once: calls fail with
// ErrDisconnected until the first connection is up (see WaitConnected).
func New(socketPath string, opts Options) *Client {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		path:    socketPath,
		opts:    opts,
		slots:   make(chan struct{}, opts.MaxInFlight),
		kick:    make(chan struct{}, 1),
		stop:    cancel,
		done:    ctx.Done(),
		up:      make(chan struct{}),
		lastErr: errors.New("not connected yet"),
	}
	c.wg.Go(func() { c.run(ctx) })
	return c
}

// Dial is New followed by WaitConnected: it returns once the first
// connection is up, or an error (and no client) when ctx ends first.
func Dial(ctx context.Context, socketPath string, opts Options) (*Client, error) {
	c := New(socketPath, opts)
	if err := c.WaitConnected(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Close drops the connection, fails calls in flight with ErrDisconnected
// (wrapping ErrClosed) and waits for the client's goroutines. Later calls
// fail with ErrClosed.
func (c *Client) Close() error {
	c.stop()
	c.wg.Wait()
	return nil
}

// WaitConnected waits until the client is connected, ctx ends, or the client
// is closed. The error then names the last connection failure.
func (c *Client) WaitConnected(ctx context.Context) error {
	for {
		c.mu.Lock()
		cur, up := c.cur, c.up
		c.mu.Unlock()
		var dying <-chan time.Time
		if cur != nil {
			if cur.ch.err() == nil {
				return nil
			}
			// The connection just broke and the reconnect loop has not
			// taken it down yet; look again in a moment (up is still
			// closed, so it must not be waited on).
			dying, up = time.After(time.Millisecond), nil
		}
		select {
		case <-dying:
		case <-up:
		case <-c.done:
			return ErrClosed
		case <-ctx.Done():
			c.mu.Lock()
			last := c.lastErr
			c.mu.Unlock()
			return fmt.Errorf("waiting for a connection to %s: %w (last error: %v)", c.path, ctx.Err(), last)
		}
	}
}

// Reconnect asks the client to redial now instead of at the end of its
// backoff delay. When connected, it drops the connection only if the socket
// file is no longer the one it dialed (SPDK restarted and made a new one);
// a healthy connection to the current socket is kept. It does not wait.
func (c *Client) Reconnect() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Version returns the version string SPDK reported on the latest
// connection ("SPDK v26.05 git sha1 d519b163cb"), "" before any.
func (c *Client) Version() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// HasMethod reports whether the connected SPDK provides method. It is false
// while disconnected, and true for every method when SPDK did not answer
// rpc_get_methods.
func (c *Client) HasMethod(method string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil && c.cur.ch.err() == nil && c.cur.has(method)
}

// Call calls method with params encoded as JSON and decodes the result into
// result (unless result is nil). A nil params sends no "params" member,
// which SPDK requires for methods that take none.
//
// Calls fail fast with ErrDisconnected while the client is not connected.
// When ctx ends first, Call returns ctx's error at once and frees its slot;
// SPDK still executes the call (there is no way to cancel it), and its late
// reply is discarded.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	var raw json.RawMessage
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("%s: encoding params: %w", method, err)
		}
		raw = b
	}
	res, err := c.CallRaw(ctx, method, raw)
	if err != nil || result == nil {
		return err
	}
	if err := json.Unmarshal(res, result); err != nil {
		return fmt.Errorf("%s: decoding result: %w", method, err)
	}
	return nil
}

// CallRaw is Call for callers that pass requests through: params are sent
// as given (compacted; empty or null means no params) and the result comes
// back as received. Errors are as for Call.
func (c *Client) CallRaw(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	start := time.Now()
	res, err := c.callRaw(ctx, method, params)
	if err != nil {
		err = fmt.Errorf("%s: %w", method, err)
	}
	if c.opts.Observer != nil {
		c.opts.Observer.CallDone(method, time.Since(start), err)
	}
	return res, err
}

func (c *Client) callRaw(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if method == "" {
		// SPDK would answer with a null id, which matches no call.
		return nil, fmt.Errorf("%w: empty method name", ErrInvalidRequest)
	}
	params, err := compactParams(params)
	if err != nil {
		return nil, err
	}
	if size := requestSize(method, params); size > MaxRequestSize {
		return nil, fmt.Errorf("%w: request is %d bytes, SPDK accepts at most %d", ErrRequestTooLarge, size, MaxRequestSize)
	}
	n, err := countValues(params, MaxRequestValues-envelopeValues)
	if err != nil {
		return nil, fmt.Errorf("%w: params are not valid JSON: %w", ErrInvalidRequest, err)
	}
	if n+envelopeValues > MaxRequestValues {
		return nil, fmt.Errorf("%w: request has %d JSON values, SPDK accepts at most %d", ErrRequestTooLarge, n+envelopeValues, MaxRequestValues)
	}
	cn, err := c.current()
	if err != nil {
		return nil, err
	}
	if !cn.has(method) {
		return nil, fmt.Errorf("%w: %q is not provided by %s", ErrMethodNotFound, method, cn.version)
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return cn.call(ctx, method, params)
}

// current returns the live connection or why there is none.
func (c *Client) current() (*conn, error) {
	select {
	case <-c.done:
		return nil, ErrClosed
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return nil, fmt.Errorf("%w: %w", ErrDisconnected, c.lastErr)
	}
	if cause := c.cur.ch.err(); cause != nil {
		return nil, fmt.Errorf("%w: %w", ErrDisconnected, cause)
	}
	return c.cur, nil
}

// compactParams validates params and returns them compact, nil for none.
func compactParams(params json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(params)) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, params); err != nil {
		return nil, fmt.Errorf("%w: params are not valid JSON: %w", ErrInvalidRequest, err)
	}
	if !utf8.Valid(buf.Bytes()) {
		// SPDK's parser rejects it by closing the connection.
		return nil, fmt.Errorf("%w: params are not valid UTF-8", ErrInvalidRequest)
	}
	switch b := buf.Bytes(); b[0] {
	case '{', '[':
		return b, nil
	case 'n': // null
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: params must be a JSON object or array, got %.32s", ErrInvalidRequest, b)
	}
}

// requestSize is the size of the request jrpc2 writes for method and
// compact params, counting the id at its longest.
func requestSize(method string, params json.RawMessage) int {
	m, _ := json.Marshal(method)
	n := len(`{"jsonrpc":"2.0","id":-9223372036854775808,"method":}`) + len(m)
	if params != nil {
		n += len(`,"params":`) + len(params)
	}
	return n
}

// socketReplaced reports whether the file at path is no longer file.
func socketReplaced(path string, file os.FileInfo) bool {
	fi, err := os.Stat(path)
	if err != nil {
		// Gone: the connection, if SPDK still serves it, stays usable.
		return false
	}
	return file == nil || !os.SameFile(fi, file)
}
