package agent

import (
	"fmt"
	"slices"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// allowList decides who may call mutating methods.
type allowList struct {
	uids []uint32
	gids []uint32
}

// permits reports whether peer may call a mutating method. Callers whose
// credentials could not be read are refused.
func (a allowList) permits(peer spdkserver.PeerCred) bool {
	if !peer.OK {
		return false
	}
	return slices.Contains(a.uids, peer.UID) || slices.Contains(a.gids, peer.GID)
}

// ruleCallerNotAllowed is the rule named when a caller is not on the allow list.
const ruleCallerNotAllowed = "caller-not-allowed"

// checkCaller returns nil when peer may call method, or the refusal.
func (a allowList) checkCaller(peer spdkserver.PeerCred, method string) *spdkrpc.Error {
	if a.permits(peer) {
		return nil
	}
	who := "a caller whose credentials could not be read"
	if peer.OK {
		who = fmt.Sprintf("uid %d gid %d (pid %d)", peer.UID, peer.GID, peer.PID)
	}
	return refusal(refusalFacts{
		Rule:   ruleCallerNotAllowed,
		Method: method,
		Reason: fmt.Sprintf("%s is not on the allow list for mutating methods (uids %v, gids %v)", who, a.uids, a.gids),
	})
}
