package spdkserver

import (
	"net"
	"sync"
	"time"
)

// faults holds the per-method faults tests inject.
type faults struct {
	mu    sync.Mutex // protects the maps
	delay map[string]time.Duration
	hang  map[string]bool
}

func (f *faults) get(method string) (hang bool, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hang[method], f.delay[method]
}

// SetDelay makes every answer to method leave d later than the handler
// gives it (d <= 0 removes the delay). Later requests on the connection are
// not held up, so their answers can overtake.
func (s *Server) SetDelay(method string, d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if d <= 0 {
		delete(s.faults.delay, method)
		return
	}
	if s.faults.delay == nil {
		s.faults.delay = make(map[string]time.Duration)
	}
	s.faults.delay[method] = d
}

// SetHang makes calls of method never answer, like the calls that hang a
// real spdk_tgt. The handler still runs, so its effects happen.
func (s *Server) SetHang(method string, hang bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if !hang {
		delete(s.faults.hang, method)
		return
	}
	if s.faults.hang == nil {
		s.faults.hang = make(map[string]bool)
	}
	s.faults.hang[method] = true
}

// ClearFaults removes every delay and hang.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.delay, s.faults.hang = nil, nil
}

// DropConnections closes every open connection now, dropping the answers
// they still owe; the server keeps listening.
func (s *Server) DropConnections() { s.closeConns() }

// Crash makes the server behave like a crashed spdk_tgt: the listener and
// every connection close, and the socket file stays behind, so clients get
// ECONNREFUSED on connect. Serve returns ErrCrashed once its goroutines are
// done; Crash itself does not wait, so a Handler may call it. Serving may
// start again with Serve or ListenAndServe (which removes the stale socket).
func (s *Server) Crash() {
	s.mu.Lock()
	ln := s.ln
	if ln != nil {
		s.crashed = true
	}
	s.mu.Unlock()
	if ln == nil {
		return
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
	ln.Close()
	s.closeConns()
}
