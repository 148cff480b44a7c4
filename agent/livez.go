package agent

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// livezRequest is answered by the RPC socket's framing layer itself
// (-32600, no method), so the check proves that the socket accepts, reads
// and writes without calling SPDK, the guard or the audit log.
const livezRequest = `{"jsonrpc":"2.0","id":"livez"}`

// checkRPCSocket is a livez check: one round trip on the agent's own RPC
// socket. A socket that stopped accepting (a dead accept loop, no file
// descriptors left) fails it; a busy SPDK does not.
func (a *Agent) checkRPCSocket(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", a.cfg.RPCSocket)
	if err != nil {
		return fmt.Errorf("rpc socket %s does not accept: %w", a.cfg.RPCSocket, err)
	}
	defer c.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(2 * time.Second)
	}
	_ = c.SetDeadline(deadline)
	if _, err := c.Write([]byte(livezRequest)); err != nil {
		return fmt.Errorf("rpc socket %s: %w", a.cfg.RPCSocket, err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("rpc socket %s does not answer: %w", a.cfg.RPCSocket, err)
	}
	if !strings.Contains(line, `"id":null`) && !strings.Contains(line, `"livez"`) {
		return fmt.Errorf("rpc socket %s: unexpected answer %q", a.cfg.RPCSocket, line)
	}
	return nil
}
