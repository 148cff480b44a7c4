package spdkserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// An answer longer than MaxReply arrives cut at exactly MaxReply bytes
// with no newline, and the next answer follows it on the same connection,
// as from spdk_tgt (whose cap is SPDKSendBufMax).
func TestServer_maxReplyCutsAsSPDK(t *testing.T) {
	const max = 256
	f := startServer(t, spdkserver.Options{MaxReply: max})
	c := f.dial(t)
	small := `{"id":1,"method":"echo","params":["` + strings.Repeat("a", 100) + `"]}`
	big := `{"id":2,"method":"echo","params":["` + strings.Repeat("b", 1000) + `"]}`
	send(t, c, small+big+call(3, "echo"))
	if got, want := readLine(t, c), `{"jsonrpc":"2.0","id":1,"result":["`+strings.Repeat("a", 100)+`"]}`; got != want {
		t.Fatalf("an answer under the cap: %s, want %s", got, want)
	}
	want := (`{"jsonrpc":"2.0","id":2,"result":["` + strings.Repeat("b", 1000))[:max]
	next := `{"jsonrpc":"2.0","id":3,"result":null}` + "\n"
	got := string(readN(t, c, max+len(next), 5*time.Second))
	if got != want+next {
		t.Fatalf("the cut answer and the next:\n got %q\nwant %q", got, want+next)
	}
}

// A line exactly one byte too long for its newline loses only the newline.
func TestServer_maxReplyBoundary(t *testing.T) {
	answer := `{"jsonrpc":"2.0","id":1,"result":["xxxx"]}`
	for _, tt := range []struct {
		max  int
		want string
	}{
		{len(answer) + 1, answer + "\n"},
		{len(answer), answer},
		{len(answer) - 1, answer[:len(answer)-1]},
	} {
		f := startServer(t, spdkserver.Options{MaxReply: tt.max})
		c := f.dial(t)
		send(t, c, `{"id":1,"method":"echo","params":["xxxx"]}`)
		if got := string(readN(t, c, len(tt.want), 5*time.Second)); got != tt.want {
			t.Errorf("cap %d: got %q, want %q", tt.max, got, tt.want)
		}
	}
}

// A batch's members that no longer fit its buffer are left out; the array
// stays closed, and what fits is sent whole.
func TestServer_maxReplyBatch(t *testing.T) {
	a := `{"jsonrpc":"2.0","id":1,"result":["aaaa"]}`
	b := `{"jsonrpc":"2.0","id":2,"result":["bbbb"]}`
	req := `[{"id":1,"method":"echo","params":["aaaa"]},{"id":2,"method":"echo","params":["bbbb"]}]`
	whole := 1 + len(a) + 1 + len(b) + 2 // "[" a "," b "]\n"
	for _, tt := range []struct {
		max  int
		want string
	}{
		{whole, "[" + a + "," + b + "]"},
		{whole - 1, "[" + a + "]"},
		{len(a), "[]"},
	} {
		f := startServer(t, spdkserver.Options{MaxReply: tt.max})
		c := f.dial(t)
		send(t, c, req)
		if got := readLine(t, c); got != tt.want {
			t.Errorf("cap %d: got %s, want %s", tt.max, got, tt.want)
		}
	}
}
