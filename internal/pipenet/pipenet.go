// Package pipenet is a net.Listener whose connections are net.Pipe pairs,
// for tests of servers that run inside a testing/synctest bubble (real
// sockets are outside it, so their deadlines would run on the wall clock).
//
//	ln := pipenet.New()
//	go srv.Serve(ln)
//	c := ln.Dial() // the client end; the server's end goes to Accept
package pipenet

import (
	"net"
	"sync"
)

// Listener hands out the server ends of net.Pipe pairs made by Dial.
type Listener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// New returns an open Listener.
func New() *Listener {
	return &Listener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for Dial, or for Close.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close makes Accept return net.ErrClosed; it may be called more than once.
func (l *Listener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

// Addr names no real address.
func (l *Listener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "unix"} }

// Dial makes a pipe, hands its server end to Accept and returns the
// client end. It blocks until the server accepts.
func (l *Listener) Dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}
