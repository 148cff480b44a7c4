package spdkserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// MaxConns is how many connections SPDK serves at once. Further clients are
// accepted and closed at once, so they read EOF without any reply.
const MaxConns = 64

// Errors returned by [Server.Serve] and [Server.ListenAndServe].
var (
	// ErrServerClosed is returned once [Server.Close] was called.
	ErrServerClosed = errors.New("spdkserver: server closed")
	// ErrCrashed is returned when the server stopped by [Server.Crash] or a
	// reply with ErrCrash. Serving may start again afterwards.
	ErrCrashed = errors.New("spdkserver: server crashed")
	// ErrServing is returned when Serve is called while serving already.
	ErrServing = errors.New("spdkserver: already serving")
	// ErrNotSocket is returned by ListenAndServe when the path exists and is
	// not a socket: only stale sockets are removed.
	ErrNotSocket = errors.New("spdkserver: path exists and is not a socket")
)

// Options configure a Server. The zero value serves without emulated
// polling, with every method synchronous and no logging.
type Options struct {
	// Logger receives connection events and handler mistakes; nil means none.
	Logger *slog.Logger
	// PollInterval, when positive, emulates SPDK's RPC poller (4 ms on a
	// real target); see [Server.SetPollInterval].
	PollInterval time.Duration
	// Async reports the methods that complete later than synchronous
	// ones; see [Server.SetAsync].
	Async func(method string) bool
	// MaxConns is how many connections are served at once (default
	// MaxConns, SPDK's limit); further clients are closed at once.
	MaxConns int
	// Limits bound what each client may hold; the zero value sets none.
	Limits Limits
	// MaxReply, when positive, cuts answers as SPDK's send buffer does
	// (SPDKSendBufMax on a real target); see sendBuf.
	MaxReply int
}

// Server serves a Handler with SPDK's framing. Its methods are safe for
// concurrent use; the settings may change while it serves.
type Server struct {
	h        Handler
	log      *slog.Logger
	maxConns int
	limits   Limits
	maxReply int
	queued   atomic.Int64 // bytes of answers completed and not yet written
	poll     atomic.Int64 // time.Duration
	// pollMu protects pollWake, closed and replaced when the interval
	// changes so that waiting connections apply the new one at once.
	pollMu   sync.Mutex
	pollWake chan struct{}
	async    atomic.Pointer[func(string) bool]
	faults   faults

	wg sync.WaitGroup // every goroutine of every connection

	mu      sync.Mutex // protects the fields below
	ln      net.Listener
	conns   map[*conn]struct{}
	serving bool
	closed  bool
	crashed bool
	done    chan struct{} // closed when the running Serve returns
	// shutdown is set by the first Shutdown: connections are being drained.
	shutdown *drain
}

// New returns a Server that answers with h.
func New(h Handler, opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{h: h, log: log, maxConns: opts.MaxConns, limits: opts.Limits, maxReply: opts.MaxReply, conns: make(map[*conn]struct{})}
	if s.maxConns <= 0 {
		s.maxConns = MaxConns
	}
	s.SetPollInterval(opts.PollInterval)
	s.SetAsync(opts.Async)
	return s
}

// SetPollInterval sets the emulated RPC poller period; 0 turns it off. With
// polling on, each connection reads and handles what arrived only at its
// ticks, and sends answers only at ticks: what completed since the last tick
// is sent first, then new input is handled, so an answer to a request
// handled at one tick leaves at the next. A client that waits for each
// answer before its next request then pays two periods per call (7.8 ms on
// a real target), and fifty requests written at once take about as long
// as one.
func (s *Server) SetPollInterval(d time.Duration) {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	s.poll.Store(int64(max(d, 0)))
	if s.pollWake != nil {
		close(s.pollWake)
	}
	s.pollWake = make(chan struct{})
}

func (s *Server) pollInterval() time.Duration { return time.Duration(s.poll.Load()) }

// pollChanged returns a channel closed at the next SetPollInterval.
func (s *Server) pollChanged() <-chan struct{} {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	return s.pollWake
}

// SetAsync sets which methods complete asynchronously in SPDK (blobstore
// metadata I/O). An answer of such a method that is ready while the
// connection still handles requests that arrived with it is sent after the
// answers of those requests, as spdk_tgt does. nil makes every method
// synchronous.
func (s *Server) SetAsync(f func(method string) bool) {
	if f == nil {
		s.async.Store(nil)
		return
	}
	s.async.Store(&f)
}

func (s *Server) isAsync(method string) bool {
	f := s.async.Load()
	return f != nil && (*f)(method)
}

// ListenAndServe listens on the Unix socket path with the given file mode
// and serves until ctx ends, Close or a crash. A socket file left behind by
// an earlier run is removed first; any other file at path is an error.
func (s *Server) ListenAndServe(ctx context.Context, path string, mode os.FileMode) error {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return fmt.Errorf("%w: %s (%s)", ErrNotSocket, path, fi.Mode().Type())
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("spdkserver: remove stale socket: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spdkserver: check socket path: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("spdkserver: listen: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return fmt.Errorf("spdkserver: set mode %v on %s: %w", mode, path, err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln and serves them until ctx ends (it
// returns ctx.Err()), Close is called (ErrServerClosed) or the server
// crashes (ErrCrashed). It closes ln and every connection, and waits for
// all their goroutines before returning.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	case s.serving:
		s.mu.Unlock()
		return ErrServing
	}
	s.serving, s.crashed, s.ln = true, false, ln
	done := make(chan struct{})
	s.done = done
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	err := s.acceptLoop(ctx, ln)
	// A Shutdown lets the connections finish what they owe before their
	// contexts end; Serve's own context still stops them at once.
	s.mu.Lock()
	sd := s.shutdown
	s.mu.Unlock()
	if sd != nil {
		select {
		case <-sd.over:
		case <-ctx.Done():
		}
	}
	stop()
	cancel()
	ln.Close()
	s.closeConns()
	s.wg.Wait()

	s.mu.Lock()
	switch {
	case s.closed:
		err = ErrServerClosed
	case s.crashed:
		err = ErrCrashed
	}
	s.serving, s.ln, s.done = false, nil, nil
	s.mu.Unlock()
	close(done)
	return err
}

// acceptLoop runs until the listener fails for good.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait a little rather
			// than spin, as net/http does.
			s.log.Warn("accept failed", "err", err)
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		s.admit(ctx, nc)
	}
}

// admit starts serving nc, or closes it when maxConns are open.
func (s *Server) admit(ctx context.Context, nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) >= s.maxConns || s.crashed || s.closed {
		s.log.Debug("connection refused: too many", "open", len(s.conns))
		nc.Close()
		return
	}
	c := newConn(ctx, s, nc)
	s.conns[c] = struct{}{}
	c.start()
}

// forget removes a closed connection from the table.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.shutdown != nil && len(s.conns) == 0 {
		s.shutdown.idleOnce.Do(func() { close(s.shutdown.idle) })
	}
	s.mu.Unlock()
}

// closeConns closes every open connection; their goroutines end on their own.
func (s *Server) closeConns() {
	s.mu.Lock()
	open := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.close()
	}
}

// Close stops serving: the listener closes (removing its socket file), every
// connection closes, and Close waits for Serve to return. Calls pending
// replies are dropped; [Server.Shutdown] delivers them first. It must not be
// called from a Handler.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	ln, done := s.ln, s.done
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.closeConns()
	if done != nil {
		<-done
	}
	return nil
}

// ConnCount returns how many connections are open.
func (s *Server) ConnCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
