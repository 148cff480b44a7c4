package spdktgt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvVar names the environment variable that turns the tier on: the path
// of an spdk_tgt binary.
const EnvVar = "SPDK_TGT"

// SkipMessage is what a test skipped for want of a target says.
const SkipMessage = "real-SPDK tier off: set " + EnvVar + " to an spdk_tgt binary to run it"

// Binary returns the spdk_tgt named by SPDK_TGT as an absolute path, or ""
// when the tier is off. A set variable that names no executable file is an
// error: a CI that meant to run the tier must not pass by skipping it.
func Binary() (string, error) {
	p := os.Getenv(EnvVar)
	if p == "" {
		return "", nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("%s=%q: %w", EnvVar, p, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("%s=%q: %w", EnvVar, p, err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s=%q: not an executable file", EnvVar, p)
	}
	return abs, nil
}

// Options configures a target.
type Options struct {
	// Binary is the spdk_tgt to run (default: Binary()).
	Binary string
	// Dir holds the socket and the log (default: a new temporary
	// directory, removed by Stop).
	Dir string
	// MemMB is spdk_tgt's memory (-s); malloc bdevs come out of it
	// (default 1024, which leaves about 160 MiB for them).
	MemMB int
	// StartTimeout bounds the wait for the socket to answer (default 30 s).
	StartTimeout time.Duration
}

// Target is one running spdk_tgt process.
type Target struct {
	opts    Options
	ownsDir bool
	slot    *slot // one of the machine's MaxTargets, held until Stop
	// Socket is the target's RPC socket; Log its output.
	Socket, Log string

	mu     sync.Mutex // protects the fields below
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for

	lastTeardown error // why the last Reset restarted the target
}

// Start runs a new target and returns once it answers spdk_get_version.
func Start(ctx context.Context, opts Options) (*Target, error) {
	if opts.Binary == "" {
		b, err := Binary()
		if err != nil {
			return nil, err
		}
		if b == "" {
			return nil, errors.New(SkipMessage)
		}
		opts.Binary = b
	}
	if opts.MemMB <= 0 {
		opts.MemMB = 1024
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	sl, err := acquireSlot(ctx)
	if err != nil {
		return nil, err
	}
	t := &Target{opts: opts, slot: sl}
	if t.opts.Dir == "" {
		// Short: a Unix socket path has a 108-byte limit.
		d, err := os.MkdirTemp("", "tgt")
		if err != nil {
			sl.release()
			return nil, err
		}
		t.opts.Dir, t.ownsDir = d, true
	}
	t.Socket = filepath.Join(t.opts.Dir, "spdk.sock")
	t.Log = filepath.Join(t.opts.Dir, "spdk_tgt.log")
	if err := t.start(ctx); err != nil {
		if t.ownsDir {
			os.RemoveAll(t.opts.Dir)
		}
		sl.release()
		return nil, err
	}
	return t, nil
}

// start launches the process and waits for it to answer.
func (t *Target) start(ctx context.Context) error {
	_ = os.Remove(t.Socket)
	logf, err := os.OpenFile(t.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	// ulimit -c 0 in a shell that then execs the target: spdk_tgt would
	// otherwise raise its core limit and leave a multi-GiB core per crash
	// test (-d keeps it from raising the limit it inherits).
	cmd := exec.Command("/bin/sh", "-c", `ulimit -c 0; exec "$0" "$@"`,
		t.opts.Binary, "--no-huge", "-s", strconv.Itoa(t.opts.MemMB), "-m", "0x1", "-u",
		"--disable-cpumask-locks", "-d", "-r", t.Socket)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a terminal's ^C reaches the test first;
	// killed with the test process if that dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("spdktgt: start %s: %w", t.opts.Binary, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.mu.Lock()
	t.cmd, t.exited = cmd, exited
	t.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, t.opts.StartTimeout)
	defer cancel()
	for {
		if answers(ctx, t.Socket) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("spdktgt: spdk_tgt exited during start-up; its log ends:\n%s", t.logTail())
		case <-ctx.Done():
			t.kill()
			return fmt.Errorf("spdktgt: spdk_tgt did not answer on %s within %s; its log ends:\n%s",
				t.Socket, t.opts.StartTimeout, t.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// answers reports whether spdk_get_version gets a reply on sock.
func answers(ctx context.Context, sock string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return false
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	_ = c.SetDeadline(dl)
	if _, err := c.Write([]byte(`{"jsonrpc":"2.0","method":"spdk_get_version","id":1}`)); err != nil {
		return false
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	return err == nil && bytes.Contains(buf[:n], []byte(`"result"`))
}

// PID returns the process id of the running target (0 when stopped).
func (t *Target) PID() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cmd == nil || t.cmd.Process == nil {
		return 0
	}
	return t.cmd.Process.Pid
}

// Alive reports whether the process runs: not exited, and not a zombie or
// dead by /proc's state letter (a killed target lingers before it is
// reaped, and kill -0 still succeeds on it).
func (t *Target) Alive() bool {
	t.mu.Lock()
	cmd, exited := t.cmd, t.exited
	t.mu.Unlock()
	if cmd == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return false
	}
	// The state letter follows the command name, which is in parentheses
	// and may itself contain ") ".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	switch s[i+2] {
	case 'Z', 'X', 'x':
		return false
	}
	return true
}

// Kill sends SIGKILL and waits until the process is gone: a crash.
func (t *Target) Kill() { t.kill() }

func (t *Target) kill() {
	t.mu.Lock()
	cmd, exited := t.cmd, t.exited
	t.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// stopProcess asks the target to exit (SIGTERM), and kills it after 5 s.
func (t *Target) stopProcess() {
	t.mu.Lock()
	cmd, exited := t.cmd, t.exited
	t.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.kill()
	}
	t.mu.Lock()
	t.cmd = nil
	t.mu.Unlock()
}

// Restart stops the process and starts a new one on the same socket and
// log, as a node's restart does: malloc bdevs are gone, aio files remain.
func (t *Target) Restart(ctx context.Context) error {
	t.stopProcess()
	return t.start(ctx)
}

// Stop ends the process and removes the directory Start made.
func (t *Target) Stop() {
	t.stopProcess()
	t.slot.release()
	if t.ownsDir {
		os.RemoveAll(t.opts.Dir)
	}
}

// logTail returns the last lines of the target's log.
func (t *Target) logTail() string {
	b, err := os.ReadFile(t.Log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// LogTail returns the last 30 lines of the target's output, for failure
// messages.
func (t *Target) LogTail() string { return t.logTail() }
