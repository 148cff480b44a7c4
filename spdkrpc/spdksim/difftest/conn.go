package difftest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrNoReply is returned by a call the target did not answer in time: it
// hangs or has died.
var ErrNoReply = errors.New("difftest: no reply")

// conn is one raw JSON-RPC connection, one call at a time, so that the
// exact reply line is what gets compared.
type conn struct {
	nc      net.Conn
	r       *bufio.Reader
	id      int
	timeout time.Duration
}

func dial(ctx context.Context, sock string, timeout time.Duration) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("difftest: dial %s: %w", sock, err)
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 1<<20), timeout: timeout}, nil
}

func (c *conn) close() error { return c.nc.Close() }

// call sends one request and returns the reply line. params is sent as
// given (nil: no params member).
func (c *conn) call(method string, params json.RawMessage) (json.RawMessage, error) {
	c.id++
	req := struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      int             `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params,omitempty"`
	}{"2.0", c.id, method, params}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := c.nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, err
	}
	if _, err := c.nc.Write(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoReply, err)
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoReply, method, err)
	}
	return line, nil
}

// callMany sends several requests at once (SPDK answers them in one poll)
// and returns the replies in request order.
func (c *conn) callMany(methods ...string) ([]json.RawMessage, error) {
	first := c.id + 1
	var buf []byte
	for _, m := range methods {
		c.id++
		b, err := json.Marshal(struct {
			ID     int    `json:"id"`
			Method string `json:"method"`
		}{c.id, m})
		if err != nil {
			return nil, err
		}
		buf = append(buf, b...)
	}
	if err := c.nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, err
	}
	if _, err := c.nc.Write(buf); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoReply, err)
	}
	out := make([]json.RawMessage, len(methods))
	for range methods {
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("%w: listing: %v", ErrNoReply, err)
		}
		var r struct {
			ID int `json:"id"`
		}
		if err := json.Unmarshal(line, &r); err != nil || r.ID < first || r.ID >= first+len(methods) {
			return nil, fmt.Errorf("difftest: unexpected reply %.100s", line)
		}
		out[r.ID-first] = line
	}
	return out, nil
}
