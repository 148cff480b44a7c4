package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const otherClients = 4

func (e *env) pid() int { return e.agent.Process.Pid }

// settle waits until the agent's goroutines are back within slack of base
// and returns the last count.
func (e *env) settle(base, slack int, within time.Duration) int {
	n := goroutines(e.healthS)
	_ = waitFor(within, "goroutines back to baseline", func() bool {
		n = goroutines(e.healthS)
		return n >= 0 && n <= base+slack
	})
	return n
}

// hungSPDK: calls SPDK never answers are all answered with an error at
// their deadline, and leave nothing behind.
func hungSPDK(e *env, sc scale) error {
	base := goroutines(e.healthS)
	// At most the agent's default calls in flight per connection, so each
	// call is read at once and its deadline starts when it is sent.
	const per = 10
	conns := sc.hungCalls / per
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		lat             latencies
		errored, failed int
	)
	for range conns {
		c, err := dialRPC(e.rpc)
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer c.Close()
			var b strings.Builder
			for i := range per {
				b.WriteString(request(i+1, hungMethod))
			}
			t0 := time.Now()
			if _, err := io.WriteString(c.c, b.String()); err != nil {
				mu.Lock()
				failed += per
				mu.Unlock()
				return
			}
			for range per {
				a, err := c.readAnswer(callTimeout + 3*time.Second)
				mu.Lock()
				switch {
				case err != nil:
					failed++
				case a.Error != nil:
					errored++
					lat = append(lat, time.Since(t0))
				default:
					failed++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	e.check(errored == conns*per && failed == 0, "%d of %d hung calls answered with an error (%d unanswered or not errors)", errored, conns*per, failed)
	e.check(lat.pct(1) < callTimeout+time.Second, "answered %v to %v after sending (deadline %v)", lat.pct(0), lat.pct(1), callTimeout)
	after := e.settle(base, 10, 10*time.Second)
	e.check(after <= base+10, "agent goroutines %d before, %d after (back within 10)", base, after)
	return nil
}

// withOthers connects the abusing client and starts the others; stop
// ends the others and returns their figures.
func (e *env) withOthers() (c *rpcConn, stop func() probeResult, err error) {
	c, err = dialRPC(e.rpc)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	others := probers(ctx, e.rpc, otherClients)
	return c, func() probeResult { cancel(); return gather(others, otherClients) }, nil
}

// checkOthers asserts the other clients' p99 and that none failed.
func (e *env) checkOthers(res probeResult, when string) {
	e.check(res.errs == 0 && res.lat.pct(0.99) < maxOthersP99, "%d other clients %s: %d calls, p50 %v, p99 %v, %d errors (p99 bound %v)",
		otherClients, when, len(res.lat), res.lat.pct(0.5).Round(10*time.Microsecond), res.lat.pct(0.99).Round(10*time.Microsecond), res.errs, maxOthersP99)
}

// deafFlood: a client writes requests and never reads; only it is
// disconnected, the agent's memory stays bounded, the others are served.
func deafFlood(e *env, sc scale) error {
	rss0, g0 := rss(e.pid()), goroutines(e.healthS)
	c, stopOthers, err := e.withOthers()
	if err != nil {
		return err
	}
	defer c.Close()
	dropped := make(chan time.Duration, 1)
	t0 := time.Now()
	go func() {
		var b strings.Builder
		for i := range sc.floodCalls {
			b.WriteString(request(i+1, "bdev_get_bdevs"))
		}
		_ = c.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, err := io.WriteString(c.c, b.String())
		// Everything was taken: whitespace, which SPDK's framing skips,
		// learns when the agent hangs up without reading an answer.
		for err == nil && time.Since(t0) < 30*time.Second {
			time.Sleep(20 * time.Millisecond)
			_, err = io.WriteString(c.c, " ")
		}
		if isTimeout(err) {
			dropped <- -1
			return
		}
		dropped <- time.Since(t0)
	}()
	var peak int64
	var took time.Duration
	tick := time.NewTicker(50 * time.Millisecond)
	limit := time.After(30 * time.Second)
wait:
	for {
		select {
		case took = <-dropped:
			break wait
		case <-tick.C:
			peak = max(peak, rss(e.pid()))
		case <-limit:
			took = -1
			break wait
		}
	}
	tick.Stop()
	e.checkOthers(stopOthers(), "meanwhile")
	e.check(took > 0, "the client that does not read was disconnected after %v (write timeout %v)", took.Round(10*time.Millisecond), writeTimeout)
	e.check(peak < maxRSS, "agent RSS %s before, peak %s (bound %s)", mib(rss0), mib(peak), mib(maxRSS))
	g1 := e.settle(g0, 10, 10*time.Second)
	e.check(g1 <= g0+10, "agent goroutines %d before, %d after", g0, g1)
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// pipelining: one client writes many calls at once and reads them all;
// the others keep their latency.
func pipelining(e *env, sc scale) error {
	g0 := goroutines(e.healthS)
	c, stopOthers, err := e.withOthers()
	if err != nil {
		return err
	}
	defer c.Close()
	t0 := time.Now()
	go func() {
		var b strings.Builder
		for i := range sc.pipeCalls {
			b.WriteString(request(i+1, probeMethod))
		}
		_, _ = io.WriteString(c.c, b.String())
	}()
	got, bad := 0, 0
	for got+bad < sc.pipeCalls {
		a, err := c.readAnswer(30 * time.Second)
		if err != nil {
			break
		}
		if a.Error != nil {
			bad++
		} else {
			got++
		}
	}
	took := time.Since(t0)
	e.checkOthers(stopOthers(), "meanwhile")
	e.check(got == sc.pipeCalls, "pipelining client: %d of %d answered (%d errors) in %v, %.0f calls/s",
		got, sc.pipeCalls, bad, took.Round(10*time.Millisecond), float64(got)/took.Seconds())
	g1 := e.settle(g0, 10, 10*time.Second)
	e.check(g1 <= g0+10, "agent goroutines %d before, %d after", g0, g1)
	return nil
}

// concurrentClients: many clients connected at once are all served.
func concurrentClients(e *env, sc scale) error {
	conns := make([]*rpcConn, 0, sc.clients)
	refused := 0
	for range sc.clients {
		c, err := dialRPC(e.rpc)
		if err != nil {
			refused++
			continue
		}
		conns = append(conns, c)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		lat    latencies
		failed atomic.Int64
	)
	start := make(chan struct{})
	for _, c := range conns {
		wg.Go(func() {
			defer c.Close()
			<-start
			t0 := time.Now()
			a, err := c.call(probeMethod, 10*time.Second)
			if err != nil || a.Error != nil {
				failed.Add(1)
				return
			}
			mu.Lock()
			lat = append(lat, time.Since(t0))
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	e.check(refused == 0 && failed.Load() == 0, "%d concurrent clients: %d served, %d refused, %d failed; p50 %v, p99 %v",
		sc.clients, len(lat), refused, failed.Load(), lat.pct(0.5).Round(10*time.Microsecond), lat.pct(0.99).Round(10*time.Microsecond))
	return nil
}

// idleRPC: idle connections shut nobody out and are closed by the idle
// timeout.
func idleRPC(e *env, sc scale) error {
	fd0 := fds(e.pid())
	idle := make([]*rpcConn, 0, sc.idleRPC)
	for range sc.idleRPC {
		c, err := dialRPC(e.rpc)
		if err != nil {
			return err
		}
		idle = append(idle, c)
	}
	t0 := time.Now()
	c, err := dialRPC(e.rpc)
	if err != nil {
		return err
	}
	a, err := c.call(probeMethod, 5*time.Second)
	c.Close()
	e.check(err == nil && a.Error == nil, "with %d idle connections another client is served (%v)", sc.idleRPC, err)
	closed := 0
	var last time.Duration
	for _, c := range idle {
		_ = c.c.SetReadDeadline(time.Now().Add(idleTimeout + 5*time.Second))
		if _, err := c.r.ReadByte(); errors.Is(err, io.EOF) {
			closed++
			last = time.Since(t0)
		}
		c.Close()
	}
	e.check(closed == sc.idleRPC, "%d of %d idle connections closed by the agent, the last after %v (idle timeout %v)", closed, sc.idleRPC, last.Round(10*time.Millisecond), idleTimeout)
	fd1 := fds(e.pid())
	_ = waitFor(5*time.Second, "fds", func() bool { fd1 = fds(e.pid()); return fd1 <= fd0 })
	e.check(fd1 <= fd0, "agent fds %d before, %d after", fd0, fd1)
	return nil
}

// healthHelpers is how many processes hold the idle health connections.
const healthHelpers = 4

// idleHealth: idle keep-alive connections to the health socket are closed
// by its idle timeout; the sockets keep accepting after.
func idleHealth(e *env, sc scale) error {
	fd0 := fds(e.pid())
	self, err := os.Executable()
	if err != nil {
		return err
	}
	t0 := time.Now()
	outs := make([]bytes.Buffer, healthHelpers)
	cmds := make([]*exec.Cmd, healthHelpers)
	for i := range cmds {
		cmds[i] = exec.Command(self, "-health-helper", e.healthS, "-health-helper-conns", strconv.Itoa(sc.idleHealth/healthHelpers))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], os.Stderr
		if err := cmds[i].Start(); err != nil {
			return err
		}
	}
	done := make(chan struct{})
	go func() {
		for _, c := range cmds {
			_ = c.Wait()
		}
		close(done)
	}()
	peak := fd0
	tick := time.NewTicker(20 * time.Millisecond)
	func() {
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				peak = max(peak, fds(e.pid()))
			}
		}
	}()
	var total helperReport
	for i := range outs {
		var r helperReport
		if err := json.Unmarshal(outs[i].Bytes(), &r); err != nil {
			return fmt.Errorf("health helper %d: %q: %w", i, outs[i].String(), err)
		}
		total.Opened += r.Opened
		total.Retries += r.Retries
		total.Failed += r.Failed
		total.Closed += r.Closed
	}
	e.check(total.Opened == sc.idleHealth && total.Failed == 0, "%d idle health connections opened (%d connects retried while the agent was at its fd limit %d, %d failed); agent fds %d before, peak %d",
		total.Opened, total.Retries, fdLimit(), total.Failed, fd0, peak)
	e.check(total.Closed == total.Opened, "%d of %d closed by the agent's idle timeout (%v), all within %v", total.Closed, total.Opened, idleTimeout, time.Since(t0).Round(100*time.Millisecond))
	fd1 := fds(e.pid())
	_ = waitFor(5*time.Second, "fds", func() bool { fd1 = fds(e.pid()); return fd1 <= fd0+2 })
	e.check(fd1 <= fd0+2, "agent fds back to %d (baseline %d)", fd1, fd0)
	code, _, herr := httpGet(e.healthS, "/readyz")
	rc, err := dialRPC(e.rpc)
	var a answer
	if err == nil {
		a, err = rc.call(probeMethod, 5*time.Second)
		rc.Close()
	}
	e.check(herr == nil && code == 200 && err == nil && a.Error == nil, "both sockets serve afterwards (readyz %d %v; rpc %v)", code, herr, err)
	return nil
}

// helperReport is what a health helper process prints.
type helperReport struct {
	Opened, Retries, Failed, Closed int
}

// holdHealthConns opens n keep-alive connections to the health socket,
// one request each, holds them idle until the agent closes them, and
// prints a helperReport. A connect refused while the agent is out of file
// descriptors is retried; the agent frees them as it closes idle ones.
func holdHealthConns(sock string, n int) {
	raiseFDLimit()
	var (
		opened, retries, failed, closed atomic.Int64
		wg, readers                     sync.WaitGroup
	)
	work := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for range work {
				c, r, ok := openIdleHealth(sock, &retries)
				if !ok {
					failed.Add(1)
					continue
				}
				opened.Add(1)
				readers.Go(func() {
					defer c.Close()
					_ = c.SetReadDeadline(time.Now().Add(idleTimeout + 30*time.Second))
					if _, err := r.ReadByte(); errors.Is(err, io.EOF) {
						closed.Add(1)
					}
				})
			}
		})
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	readers.Wait()
	b, _ := json.Marshal(helperReport{Opened: int(opened.Load()), Retries: int(retries.Load()), Failed: int(failed.Load()), Closed: int(closed.Load())})
	fmt.Println(string(b))
}

func openIdleHealth(sock string, retries *atomic.Int64) (net.Conn, *bufio.Reader, bool) {
	for range 200 {
		c, err := net.DialTimeout("unix", sock, 5*time.Second)
		if err == nil {
			r := bufio.NewReader(c)
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_, err = io.WriteString(c, "GET /livez/follow-loop HTTP/1.1\r\nHost: agent\r\n\r\n")
			var resp *http.Response
			if err == nil {
				resp, err = http.ReadResponse(r, nil)
			}
			if err == nil && resp.StatusCode == 200 {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = c.SetDeadline(time.Time{})
				return c, r, true
			}
			c.Close()
		}
		retries.Add(1)
		time.Sleep(50 * time.Millisecond)
	}
	return nil, nil, false
}

func fdLimit() uint64 {
	var lim syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// lvolsAnswer is the part of agent_get_lvols the suite reads.
type lvolsAnswer struct {
	Status struct {
		Stale    bool     `json:"stale"`
		Warnings []string `json:"warnings"`
	} `json:"status"`
	Lvols []json.RawMessage `json:"lvols"`
}

func (e *env) queryLvols() (lvolsAnswer, error) {
	c, err := dialRPC(e.rpc)
	if err != nil {
		return lvolsAnswer{}, err
	}
	defer c.Close()
	a, err := c.call("agent_get_lvols", 5*time.Second)
	if err != nil {
		return lvolsAnswer{}, err
	}
	if a.Error != nil {
		return lvolsAnswer{}, fmt.Errorf("error %d", a.Error.Code)
	}
	var la lvolsAnswer
	err = json.Unmarshal(a.Result, &la)
	return la, err
}

// stoppedSPDK: SPDK stopped (SIGSTOP) leaves the agent live and answering
// stale, not ready; the agent restarted meanwhile serves its saved graph.
func stoppedSPDK(e *env, sc scale) error {
	before, err := e.queryLvols()
	if err != nil {
		return err
	}
	if err := e.sim.Process.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	stopped := time.Now()
	var (
		samples, live, unready, answered, stale int
		restarted                               bool
		restoredLvols                           = -1
	)
	for time.Since(stopped) < sc.stopFor {
		if !restarted && time.Since(stopped) > sc.stopFor/2 {
			if err := e.restartAgent(); err != nil {
				return fmt.Errorf("restart with SPDK stopped: %w", err)
			}
			restarted = true
			if la, err := e.queryLvols(); err == nil && la.Status.Stale {
				restoredLvols = len(la.Lvols)
			}
		}
		if time.Since(stopped) > callTimeout+time.Second {
			samples++
			if code, _, err := httpGet(e.healthS, "/livez"); err == nil && code == 200 {
				live++
			}
			if code, _, err := httpGet(e.healthS, "/readyz"); err == nil && code == 503 {
				unready++
			}
			if la, err := e.queryLvols(); err == nil && len(la.Lvols) == len(before.Lvols) {
				answered++
				if la.Status.Stale || time.Since(stopped) < maxGraphAge+time.Second {
					stale++
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err := e.sim.Process.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	e.check(live == samples, "SPDK stopped %v: /livez 200 in %d of %d samples", sc.stopFor, live, samples)
	e.check(unready == samples, "/readyz 503 in %d of %d samples", unready, samples)
	e.check(answered == samples && stale == samples, "queries answered in %d of %d samples, marked stale (once past --max-graph-age) in %d", answered, samples, stale)
	e.check(restoredLvols == len(before.Lvols), "the agent restarted with SPDK stopped serves the saved graph: %d lvols (before %d)", restoredLvols, len(before.Lvols))
	err = waitFor(30*time.Second, "ready again", func() bool {
		code, _, err := httpGet(e.healthS, "/readyz")
		return err == nil && code == 200
	})
	e.check(err == nil, "ready again %v after SPDK continued", time.Since(stopped.Add(sc.stopFor)).Round(100*time.Millisecond))
	return nil
}
