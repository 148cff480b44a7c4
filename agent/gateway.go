package agent

import (
	"fmt"
	"os"
	"path/filepath"
)

// wellKnownSPDKSocket is where SPDK's clients look for spdk_tgt.
const wellKnownSPDKSocket = "/var/tmp/spdk.sock"

// directReach says why other local clients may reach spdk_tgt without the
// agent, or "" when its socket is private to the agent's uid: then the
// guard is the sole gateway and no direct call can race it. It reads only
// modes, so it is a hint: root reaches everything.
func directReach(spdkSocket string) string {
	if filepath.Clean(spdkSocket) == wellKnownSPDKSocket {
		return fmt.Sprintf("spdk_tgt serves SPDK's well-known %s, where every SPDK client connects", wellKnownSPDKSocket)
	}
	dir := filepath.Dir(spdkSocket)
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return ""
		}
		// A directory others cannot search hides what is beneath it.
		if fi.Mode().Perm()&0o011 == 0 {
			return ""
		}
		if d == "/" || d == "." {
			break
		}
	}
	fi, err := os.Stat(spdkSocket)
	if err != nil {
		return ""
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Sprintf("spdk_tgt's socket %s is writable by its group or others and its directories are searchable", spdkSocket)
	}
	return ""
}
