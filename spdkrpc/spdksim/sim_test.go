package spdksim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

func startSim(t *testing.T, opts Options) (*Sim, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sim") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "spdk.sock")
	s := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx, path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Close() })
	return s, path
}

type sockConn struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func dial(t *testing.T, path string) *sockConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sockConn{t: t, c: c, rd: bufio.NewReader(c)}
}

func (s *sockConn) write(b string) {
	if _, err := s.c.Write([]byte(b)); err != nil {
		s.t.Fatal(err)
	}
}

// read returns the next n reply lines, or what came before an error.
func (s *sockConn) read(n int, wait time.Duration) (string, error) {
	_ = s.c.SetReadDeadline(time.Now().Add(wait))
	var out strings.Builder
	for range n {
		line, err := s.rd.ReadString('\n')
		out.WriteString(line)
		if err != nil {
			return out.String(), err
		}
	}
	return out.String(), nil
}

// TestConformance_socket replays the recorded session over the socket and
// compares the bytes of every reply line, UUIDs normalised.
func TestConformance_socket(t *testing.T) {
	for _, session := range [][2]string{{"001", "136"}, {"201", "210"}} {
		t.Run(session[0]+"-"+session[1], func(t *testing.T) {
			_, path := startSim(t, Options{PollInterval: time.Millisecond})
			conn := dial(t, path)
			uuids := newUUIDMap()
			compared := 0
			for _, f := range loadTranscripts(t, session[0], session[1]) {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				var tr transcript
				if err := json.Unmarshal(b, &tr); err != nil {
					t.Fatal(err)
				}
				name := filepath.Base(f)
				if tr.SentChunks != nil {
					// Each raw exchange on its own connection, as recorded.
					rc := dial(t, path)
					for _, ch := range tr.SentChunks {
						rc.write(uuids.translate(ch))
					}
					n := strings.Count(tr.Received, "\n")
					got, err := rc.read(max(n, 1), 300*time.Millisecond)
					switch {
					case n == 0 && got != "":
						t.Errorf("%s: answered %q, recorded nothing", name, got)
					case n > 0 && err != nil:
						t.Errorf("%s: %v after %q", name, err, got)
					case n > 0:
						if d := uuids.match(tr.Received, got); d != "" {
							if why, ok := knownOrder[name]; ok && sameLines(tr.Received, uuids.translate(got)) {
								t.Logf("%s: same replies, other order: %s", name, why)
								continue
							}
							t.Errorf("%s differs: %s", name, d)
						}
						compared++
					}
					continue
				}
				for i := range tr.FillsBefore {
					conn.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"bdev_lvol_create","params":{"lvs_name":"lvs0","lvol_name":"fill%d","size_in_mib":4,"thin_provision":true}}`, 1000+i, i))
					if _, err := conn.read(1, 5*time.Second); err != nil {
						t.Fatalf("%s: fill%d: %v", name, i, err)
					}
				}
				conn.write(uuids.translate(compact(t, tr.Request)))
				var silent map[string]string
				_ = json.Unmarshal(tr.Response, &silent)
				nr := silent["NO_RESPONSE"]
				wait := 5 * time.Second
				if nr != "" {
					wait = 300 * time.Millisecond // a hang shows as no reply in that time
				}
				got, err := conn.read(1, wait)
				if nr != "" {
					wantClosed := strings.Contains(nr, "connection closed")
					var ne net.Error
					if got != "" || (wantClosed && !errors.Is(err, io.EOF)) || (!wantClosed && !(errors.As(err, &ne) && ne.Timeout())) {
						t.Errorf("%s: got %q, %v; recorded %s", name, got, err, nr)
					}
					if !wantClosed {
						conn = dial(t, path) // the hung request keeps nothing else from working
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if d := uuids.match(compact(t, tr.Response)+"\n", got); d != "" {
					t.Errorf("%s differs: %s", name, d)
				}
				compared++
			}
			t.Logf("%d exchanges compared byte for byte", compared)
		})
	}
}

// knownOrder lists the raw exchanges whose replies the simulator sends in
// another order than spdk_tgt, with the reason.
var knownOrder = map[string]string{}

func sameLines(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	slices.Sort(la)
	slices.Sort(lb)
	return slices.Equal(la, lb)
}

func TestSim_crashAndRestart(t *testing.T) {
	disk := newDisk(t, 64<<20)
	s, path := startSim(t, Options{PollInterval: -1})
	c := dial(t, path)
	send := func(c *sockConn, method, params string) string {
		c.write(`{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":` + params + `}`)
		got, err := c.read(1, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return got
	}
	send(c, "bdev_aio_create", `{"name":"aio0","filename":"`+disk+`","block_size":4096}`)
	send(c, "bdev_lvol_create_lvstore", `{"bdev_name":"aio0","lvs_name":"lvs"}`)
	send(c, "bdev_lvol_create", `{"lvs_name":"lvs","lvol_name":"v","size_in_mib":4}`)
	s.Crash()
	if _, err := c.read(1, time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("after crash: %v, want EOF", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the socket file must stay after a crash: %v", err)
	}
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("connect to a crashed target must fail")
	}
	if err := s.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	c = dial(t, path)
	if got := send(c, "bdev_lvol_get_lvstores", `null`); got != `{"jsonrpc":"2.0","id":1,"result":[]}`+"\n" {
		t.Fatalf("before examine: %s", got)
	}
	send(c, "bdev_aio_create", `{"name":"aio0","filename":"`+disk+`","block_size":4096}`)
	if got := send(c, "bdev_get_bdevs", `{"name":"lvs/v"}`); !strings.Contains(got, `"aliases":["lvs/v"]`) {
		t.Fatalf("lvol after restart: %s", got)
	}
	select {
	case <-s.Done():
		t.Fatalf("server ended: %v", s.Err())
	default:
	}
}

func TestSim_handlerCrashEndsServing(t *testing.T) {
	s, path := startSim(t, Options{PollInterval: -1})
	c := dial(t, path)
	if _, err := BuildDemoNode(context.Background(), s.Target().Call, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	c.write(`{"jsonrpc":"2.0","id":1,"method":"bdev_malloc_delete","params":{"name":"` + DemoExternalImage + `"}}`)
	if got, err := c.read(1, 200*time.Millisecond); got != "" || err == nil {
		t.Fatalf("delete of an esnap base answered %q, %v", got, err)
	}
	c = dial(t, path)
	c.write(`{"jsonrpc":"2.0","id":2,"method":"bdev_lvol_delete","params":{"name":"lvs-aio/r-30-snap-s1"}}`)
	if _, err := c.read(1, 5*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("delete of the orphaned esnap clone: %v, want the connection closed", err)
	}
	select {
	case <-s.Done():
		if err := s.Err(); !errors.Is(err, spdkserver.ErrCrashed) {
			t.Fatalf("server ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server still serving after the crash")
	}
}

func TestSim_faultsPassThrough(t *testing.T) {
	s, path := startSim(t, Options{PollInterval: -1})
	s.SetHang("spdk_get_version", true)
	c := dial(t, path)
	c.write(`{"jsonrpc":"2.0","id":1,"method":"spdk_get_version"}`)
	if got, err := c.read(1, 100*time.Millisecond); got != "" || err == nil {
		t.Fatalf("hung method answered %q", got)
	}
	s.ClearFaults()
	s.DropConnections()
	if _, err := c.read(1, time.Second); err == nil {
		t.Fatal("connection survived DropConnections")
	}
	c = dial(t, path)
	c.write(`{"jsonrpc":"2.0","id":2,"method":"spdk_get_version"}`)
	if _, err := c.read(1, time.Second); err != nil {
		t.Fatal(err)
	}
}
