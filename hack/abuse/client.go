package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rpcConn is one client of the agent's RPC socket, speaking SPDK's framing
// by hand so that it can pipeline, stop reading or stay idle at will.
type rpcConn struct {
	c  net.Conn
	r  *bufio.Reader
	id int
}

func dialRPC(path string) (*rpcConn, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rpcConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

func (c *rpcConn) Close() error { return c.c.Close() }

func request(id int, method string) string {
	return `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"` + method + `"}`
}

// answer is one reply line's outcome.
type answer struct {
	ID     int                 `json:"id"`
	Result json.RawMessage     `json:"result"`
	Error  *struct{ Code int } `json:"error"`
}

func (c *rpcConn) readAnswer(deadline time.Duration) (answer, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(deadline))
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return answer{}, err
	}
	var a answer
	if err := json.Unmarshal(line, &a); err != nil {
		return answer{}, fmt.Errorf("answer %q: %w", line, err)
	}
	return a, nil
}

// call sends one request and waits for its answer.
func (c *rpcConn) call(method string, deadline time.Duration) (answer, error) {
	c.id++
	_ = c.c.SetWriteDeadline(time.Now().Add(deadline))
	if _, err := io.WriteString(c.c, request(c.id, method)); err != nil {
		return answer{}, err
	}
	return c.readAnswer(deadline)
}

// latencies gathers call durations.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// probers are the other clients: each calls probeMethod one call after
// the other until ctx ends, on its own connection.
func probers(ctx context.Context, path string, n int) <-chan probeResult {
	out := make(chan probeResult, n)
	for range n {
		go func() {
			var res probeResult
			defer func() { out <- res }()
			c, err := dialRPC(path)
			if err != nil {
				res.errs++
				return
			}
			defer c.Close()
			for ctx.Err() == nil {
				t0 := time.Now()
				a, err := c.call(probeMethod, 5*time.Second)
				res.lat = append(res.lat, time.Since(t0))
				if err != nil || a.Error != nil {
					res.errs++
					if err != nil {
						return
					}
				}
			}
		}()
	}
	return out
}

type probeResult struct {
	lat  latencies
	errs int
}

// gather waits for n prober results and merges them.
func gather(ch <-chan probeResult, n int) probeResult {
	var all probeResult
	for range n {
		r := <-ch
		all.lat = append(all.lat, r.lat...)
		all.errs += r.errs
	}
	return all
}

// httpGet fetches path over the health socket on a fresh connection.
func httpGet(sock, path string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	resp, err := c.Get("http://agent" + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func dialable(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Figures of the agent's process.

func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return -1
}

func fds(pid int) int {
	ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		return -1
	}
	return len(ents)
}

// goroutines reads go_goroutines from the agent's metrics.
func goroutines(healthSock string) int {
	_, body, err := httpGet(healthSock, "/metrics")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return -1
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
