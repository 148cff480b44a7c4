package difftest

import (
	"strings"
	"testing"
)

func TestNormalizer_tokensInOrderOfFirstSight(t *testing.T) {
	n := newNormalizer("/tmp/x")
	got, err := n.reply([]byte(`{"jsonrpc":"2.0","id":1,"result":[{"uuid":"8E5B5C2A-0000-4000-8000-000000000001","b":"lvs/8e5b5c2a-0000-4000-8000-000000000001"},{"f":"/tmp/x/f0","u":"11111111-2222-4333-8444-555555555555"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"result":[{"b":"lvs/@U0@","uuid":"@U0@"},{"f":"@DIR@/f0","u":"@U1@"}]}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	filled, err := n.fill(`{"a":"@U1@","b":"@u0@","c":"@DIR@/f1"}`)
	if err != nil {
		t.Fatal(err)
	}
	if filled != `{"a":"11111111-2222-4333-8444-555555555555","b":"8E5B5C2A-0000-4000-8000-000000000001","c":"/tmp/x/f1"}` {
		t.Fatalf("filled %s", filled)
	}
	if _, err := n.fill(`"@U9@"`); err == nil {
		t.Fatal("a token never seen must fail")
	}
}

func TestNormalizer_errorsKeepCodeAndMessage(t *testing.T) {
	n := newNormalizer("")
	got, err := n.reply([]byte(`{"jsonrpc":"2.0","id":3,"error":{"code":-19,"message":"No such device"}}` + "\n"))
	if err != nil || got != `{"error":{"code":-19,"message":"No such device"}}` {
		t.Fatalf("%s, %v", got, err)
	}
	if _, err := n.reply([]byte(`{"jsonrpc":`)); err == nil {
		t.Fatal("a cut reply must fail")
	}
}

// FuzzNormalizer_reply feeds arbitrary reply lines: the normalizer never
// panics, and what it accepts normalizes to JSON without raw UUIDs.
func FuzzNormalizer_reply(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":"8e5b5c2a-0000-4000-8000-000000000001"}`))
	f.Add([]byte(`{"id":1,"error":{"code":-32602,"message":"File exists"}}`))
	f.Add([]byte(`{"result":[{"a":["/d/x",1.5e3,null,true]}]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		n := newNormalizer("/d")
		out, err := n.reply(line)
		if err != nil {
			return
		}
		if uuidRe.MatchString(out) {
			t.Fatalf("UUID left in %s", out)
		}
		if !strings.HasPrefix(out, `{"`) {
			t.Fatalf("not an object: %s", out)
		}
		if _, err := n.fill(out); err != nil {
			t.Fatalf("fill %s: %v", out, err)
		}
	})
}
