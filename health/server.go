package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultCheckTimeout bounds each check when Options.CheckTimeout is zero.
// It is below the probe's own timeout so that a slow check is reported as
// such rather than as an unreachable agent.
const DefaultCheckTimeout = 2 * time.Second

// Options configures a Server.
type Options struct {
	// Livez checks say whether the agent must be restarted.
	Livez []Check
	// Readyz checks say whether the agent can serve its clients.
	Readyz []Check
	// Gatherer is served on /metrics; nil serves no /metrics.
	Gatherer prometheus.Gatherer
	// Logger receives check state changes; slog.Default() if nil.
	Logger *slog.Logger
	// CheckTimeout bounds each check; DefaultCheckTimeout if zero.
	CheckTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long;
	// DefaultIdleTimeout if zero. Probes and scrapers come back every few
	// seconds at most, and an idle connection costs a file descriptor.
	IdleTimeout time.Duration
}

// Timeouts of the HTTP server, following net/http practice: a client gets
// a few seconds to send its headers, and a connection that sends nothing
// is closed rather than kept forever.
const (
	DefaultIdleTimeout = 60 * time.Second
	readHeaderTimeout  = 5 * time.Second
	readTimeout        = 10 * time.Second
	// writeTimeout leaves a scrape of a large node time to be written.
	writeTimeout   = 30 * time.Second
	maxHeaderBytes = 16 << 10
)

// Server serves /livez, /readyz, /healthz and /metrics.
type Server struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex        // protects failed
	failed map[string]string // "livez/name" -> last failure, for logging changes only
}

// NewServer returns a server for opts. Check names must be unique within
// each list; NewServer panics otherwise, since that is a wiring mistake.
func NewServer(opts Options) *Server {
	for _, list := range []struct {
		kind   string
		checks []Check
	}{{"livez", opts.Livez}, {"readyz", opts.Readyz}} {
		seen := map[string]bool{}
		for _, c := range list.checks {
			if c.Name == "" || strings.ContainsAny(c.Name, "/ \n") || c.Run == nil {
				panic(fmt.Sprintf("health: invalid %s check %q", list.kind, c.Name))
			}
			if seen[c.Name] {
				panic(fmt.Sprintf("health: %s check %q registered twice", list.kind, c.Name))
			}
			seen[c.Name] = true
		}
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = DefaultCheckTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{opts: opts, log: log, failed: map[string]string{}}
}

// Handler returns the server's HTTP handler, for serving it on another
// listener too (the TCP --metrics-address).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	live := s.endpoint("livez", s.opts.Livez)
	ready := s.endpoint("readyz", s.opts.Readyz)
	mux.Handle("GET /livez", live)
	mux.Handle("GET /livez/{check}", live)
	mux.Handle("GET /readyz", ready)
	mux.Handle("GET /readyz/{check}", ready)
	// /healthz is kept for tools that only know the older name; it means
	// readiness, as in the Kubernetes API server.
	mux.Handle("GET /healthz", ready)
	mux.Handle("GET /healthz/{check}", ready)
	if s.opts.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{
			ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelError),
			ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	return mux
}

// ErrSocketInUse is returned by ListenAndServe when something already
// accepts connections on the socket path: most likely another agent.
var ErrSocketInUse = errors.New("socket already in use")

// ErrNotSocket is returned by ListenAndServe when the socket path exists
// and is not a socket: it is never removed.
var ErrNotSocket = errors.New("path exists and is not a socket")

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully
// (in-flight requests get up to 5 seconds) and returns nil. It closes ln.
// Slow and idle clients are cut off by the server's timeouts (see
// Options.IdleTimeout), so they cannot hold file descriptors forever.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// ListenAndServe listens on the Unix socket socketPath with permissions
// mode and serves until ctx is done. A stale socket left by a previous run
// is removed first; a live one (ErrSocketInUse) or a non-socket file
// (ErrNotSocket) is an error. The socket is removed on return.
func (s *Server) ListenAndServe(ctx context.Context, socketPath string, mode os.FileMode) error {
	if err := removeStaleSocket(socketPath); err != nil {
		return err
	}
	ln, err := net.Listen("unix", socketPath)
	if err != nil {
		return fmt.Errorf("health: listen on %s: %w", socketPath, err)
	}
	if err := os.Chmod(socketPath, mode); err != nil {
		ln.Close()
		return fmt.Errorf("health: chmod %s: %w", socketPath, err)
	}
	return s.Serve(ctx, ln)
}

// removeStaleSocket removes the socket at path unless something answers on
// it. It never removes anything but a socket.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("health: %s: %w (mode %v)", path, ErrNotSocket, fi.Mode())
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("health: %s: %w", path, ErrSocketInUse)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("health: probing existing socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("health: removing stale socket: %w", err)
	}
	return nil
}
