package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// DefaultSocket is where the agent serves health unless told otherwise.
const DefaultSocket = "/run/spdk-agent/health.sock"

// ErrSocketAbsent is returned by Probe when nothing exists at the socket
// path: the agent is not running, or runs with another --health-socket.
var ErrSocketAbsent = errors.New("health socket does not exist")

// ErrNotListening is returned by Probe when the socket exists but nothing
// accepts connections on it: a socket left behind by an agent that exited.
var ErrNotListening = errors.New("nothing listens on the health socket")

// maxProbeBody bounds what Probe reads: a health answer is a few lines, and
// a probe must not be made to buffer a runaway /metrics.
const maxProbeBody = 1 << 20

// Probe sends GET path (for example "/readyz?verbose") to the agent's
// health socket and returns the HTTP status and body. ctx bounds the whole
// exchange. err is set only when no answer came; a 503 is an answer.
func Probe(ctx context.Context, socketPath, path string) (status int, body string, err error) {
	if _, err := os.Stat(socketPath); errors.Is(err, os.ErrNotExist) {
		return 0, "", fmt.Errorf("%w: %s", ErrSocketAbsent, socketPath)
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	// The host is a placeholder: the transport always dials socketPath.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://spdk-agent"+path, nil)
	if err != nil {
		return 0, "", fmt.Errorf("health probe %s: %w", path, err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return 0, "", fmt.Errorf("%w: %s", ErrNotListening, socketPath)
		}
		return 0, "", fmt.Errorf("health probe %s on %s: %w", path, socketPath, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil {
		return resp.StatusCode, string(b), fmt.Errorf("health probe %s on %s: reading answer: %w", path, socketPath, err)
	}
	return resp.StatusCode, string(b), nil
}
