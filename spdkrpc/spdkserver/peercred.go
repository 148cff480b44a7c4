//go:build linux

package spdkserver

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// peerCred reads the credentials of the process at the other end of a Unix
// connection (SO_PEERCRED). They are fixed when the peer connected, so one
// read per connection is enough. OK is false for other kinds of connection.
func peerCred(nc net.Conn) PeerCred {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return PeerCred{}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return PeerCred{}
	}
	var (
		cred *unix.Ucred
		cerr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return PeerCred{}
	}
	return PeerCred{OK: true, PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}
}
