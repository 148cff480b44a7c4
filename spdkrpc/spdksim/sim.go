package spdksim

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// Sim is a simulated spdk_tgt on a Unix socket: a Target behind an
// SPDK-framed server, with the process-level events of a real target
// (crash, restart) and the server's fault injection.
type Sim struct {
	opts   Options
	target *Target

	mu     sync.Mutex // protects the fields below
	path   string
	srv    *spdkserver.Server
	done   chan struct{} // closed when the running Serve returns; nil before Start
	err    error         // what the last Serve returned, once done is closed
	faults []func(*spdkserver.Server)
}

// New returns a simulator in the state of a freshly started target; Start
// puts it on a socket.
func New(opts Options) *Sim {
	return &Sim{opts: opts, target: NewTarget(opts)}
}

// Target returns the simulated target, to call in process or inspect.
func (s *Sim) Target() *Target { return s.target }

// SocketPath returns the socket Start was given.
func (s *Sim) SocketPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path
}

// IsAsync reports the methods spdk_tgt completes after blobstore metadata
// I/O; their answers leave after those of requests that came with them
// (transcript 134).
func IsAsync(method string) bool {
	m, ok := methods[method]
	return ok && m.mutates && strings.HasPrefix(method, "bdev_lvol_")
}

// Start listens on socketPath (removing a stale socket left by a crash)
// and serves until ctx ends, Close or a crash. The socket exists when
// Start returns.
func (s *Sim) Start(ctx context.Context, socketPath string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return fmt.Errorf("spdksim: start on %s: %w", socketPath, spdkserver.ErrServing)
	}
	s.path = socketPath
	return s.startLocked(ctx)
}

func (s *Sim) startLocked(ctx context.Context) error {
	if fi, err := os.Lstat(s.path); err == nil && fi.Mode().Type() == fs.ModeSocket {
		if err := os.Remove(s.path); err != nil {
			return fmt.Errorf("spdksim: remove stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", s.path)
	if err != nil {
		return fmt.Errorf("spdksim: listen: %w", err)
	}
	srv := spdkserver.New(s.target, spdkserver.Options{PollInterval: s.opts.pollInterval(), Async: IsAsync, MaxReply: s.opts.maxReply(), Logger: s.opts.Logger})
	for _, f := range s.faults {
		f(srv)
	}
	done := make(chan struct{})
	go func() {
		err := srv.Serve(ctx, ln)
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(done)
	}()
	s.srv, s.done = srv, done
	return nil
}

// stopLocked ends the running server, by close or crash, and waits for it.
// The caller must hold s.mu; it is released while waiting.
func (s *Sim) stopLocked(crash bool) {
	srv, done := s.srv, s.done
	if srv == nil {
		return
	}
	s.srv = nil
	s.mu.Unlock()
	if crash {
		srv.Crash()
	} else {
		_ = srv.Close()
	}
	<-done
	s.mu.Lock()
}

// Close stops serving and removes the socket.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.stopLocked(false)
	s.mu.Unlock()
	s.target.Wait()
	return nil
}

// Crash kills the simulated process: connections close, the socket file
// stays behind (connects are refused), and nothing is served until Restart.
func (s *Sim) Crash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(true)
}

// Restart starts a new process on the same socket: all in-memory state is
// gone (malloc bdevs and their lvstores), aio files keep their lvstores
// for bdev_aio_create to find, and the socket reappears after
// Options.RestartDelay. A running server is crashed first.
func (s *Sim) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == "" {
		return ErrNotStarted
	}
	s.stopLocked(true)
	s.target.Restart()
	if d := s.opts.RestartDelay; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.startLocked(ctx)
}

// Done returns a channel closed when serving ends (nil before Start); Err
// then says why.
func (s *Sim) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Err returns why serving ended: ctx.Err(), spdkserver.ErrCrashed (a
// request crashed the target, or Crash) or spdkserver.ErrServerClosed.
func (s *Sim) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// SetDelay delays every answer to method by d (see spdkserver.Server.SetDelay).
func (s *Sim) SetDelay(method string, d time.Duration) {
	s.fault(func(srv *spdkserver.Server) { srv.SetDelay(method, d) })
}

// SetHang makes method never answer while still taking effect.
func (s *Sim) SetHang(method string, hang bool) {
	s.fault(func(srv *spdkserver.Server) { srv.SetHang(method, hang) })
}

// ClearFaults removes every delay and hang.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	if s.srv != nil {
		s.srv.ClearFaults()
	}
}

// SetPollInterval changes the emulated poller period; 0 or less turns it off.
func (s *Sim) SetPollInterval(d time.Duration) {
	s.fault(func(srv *spdkserver.Server) { srv.SetPollInterval(max(d, 0)) })
}

// DropConnections closes every open connection; the socket stays up.
func (s *Sim) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.DropConnections()
	}
}

// fault applies f to the running server and to every later one (restarts
// keep the injected faults, as a test expects).
func (s *Sim) fault(f func(*spdkserver.Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
	if s.srv != nil {
		f(s.srv)
	}
}

// BuildDemoNode builds the demo node (see the package function) in process.
func (s *Sim) BuildDemoNode(ctx context.Context, dir string) (*DemoNode, error) {
	return BuildDemoNode(ctx, s.target.Call, dir)
}
