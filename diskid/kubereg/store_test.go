package kubereg

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/internal/kubetest"
)

// startStore runs a Store against api until the test ends, and returns it
// with a channel that receives after each of its changes.
func startStore(t *testing.T, api *kubetest.APIServer, node string) (*Store, <-chan struct{}) {
	t.Helper()
	changed := make(chan struct{}, 1)
	s, err := New(Config{Client: api.Client(t), Namespace: "default", Node: node,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		OnChange: func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := s.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	return s, changed
}

// waitFor waits on changed until cond holds.
func waitFor(t *testing.T, changed <-chan struct{}, cond func() bool) {
	t.Helper()
	for !cond() {
		<-changed
	}
}

func TestStore_claimCollideRelease(t *testing.T) {
	api := kubetest.Start(t)
	api.CreateNodes(t, "n1", "n2")
	s1, _ := startStore(t, api, "n1")
	s2, changed2 := startStore(t, api, "n2")
	ctx := context.Background()
	a := diskid.ClaimSpec{Prefix: "ab", UUID: "ab000000-0000-4000-8000-000000000001", Node: "n1", Disk: "/mnt/d1", Kind: diskid.KindFilesystem}
	b := diskid.ClaimSpec{Prefix: "ab", UUID: "ab000000-0000-4000-8000-000000000002", Node: "n2", Disk: "/mnt/d1", Kind: diskid.KindFilesystem}
	if err := s1.Claim(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s1.Claim(ctx, a); err != nil {
		t.Fatalf("claiming again: %v", err)
	}
	err := s2.Claim(ctx, b)
	var ce *diskid.ClaimedError
	if !errors.As(err, &ce) || !errors.Is(err, diskid.ErrPrefixClaimed) || ce.Holder != a {
		t.Fatalf("second claim: %v, want held by %+v", err, a)
	}
	waitFor(t, changed2, func() bool { return len(s2.View().Claims) == 1 })
	if v := s2.View(); !v.Synced || v.Claims[0] != a {
		t.Fatalf("view: %+v", v)
	}
	if err := s2.Release(ctx, "ab", b.UUID); err != nil {
		t.Fatal(err)
	}
	if len(s2.View().Claims) != 1 {
		t.Fatal("a release by another holder deleted the claim")
	}
	if err := s1.Release(ctx, "ab", a.UUID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, changed2, func() bool { return len(s2.View().Claims) == 0 })
	if err := s2.Claim(ctx, b); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
}

// An API server that goes away leaves the last view, marked not synced;
// it is synced again once the server is back.
func TestStore_apiServerDownKeepsLastView(t *testing.T) {
	api := kubetest.Start(t)
	api.CreateNodes(t, "n1")
	s, changed := startStore(t, api, "n1")
	c := diskid.ClaimSpec{Prefix: "cd", UUID: "cd000000-0000-4000-8000-000000000001", Node: "n1", Disk: "lvs0", Kind: diskid.KindLvstore}
	if err := s.Claim(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	api.StopAPIServer()
	waitFor(t, changed, func() bool { return !s.View().Synced })
	v := s.View()
	if !v.Good || len(v.Claims) != 1 || v.Problem == "" {
		t.Fatalf("view while down: %+v", v)
	}
	api.StartAPIServer()
	waitFor(t, changed, func() bool { return s.View().Synced })
	if v := s.View(); len(v.Claims) != 1 {
		t.Fatalf("view after: %+v", v)
	}
}

func FuzzParseLease(f *testing.F) {
	f.Add("spdk-disk-ab", "ab000000-0000-4000-8000-000000000001", "filesystem", "n1", "/mnt/d1")
	f.Add("spdk-disk-", "", "lvstore", "", "")
	f.Add("other", "AB000000-0000-4000-8000-000000000001", "x", "n", "d")
	f.Fuzz(func(t *testing.T, name, holder, kind, node, disk string) {
		l := newLease("default", diskid.ClaimSpec{Node: node, Disk: disk, Kind: diskid.Kind(kind)}, nil)
		l.Name, l.Spec.HolderIdentity = name, &holder
		c, err := ParseLease(l)
		if err != nil {
			return
		}
		if LeaseName(c.Prefix) != name || c.UUID.Prefix(len(c.Prefix)) != c.Prefix || c.Disk != disk {
			t.Fatalf("ParseLease(%q, %q) = %+v", name, holder, c)
		}
		if _, err := diskid.ParseDiskUUID(string(c.UUID)); err != nil {
			t.Fatalf("accepted holder %q: %v", holder, err)
		}
	})
}

func TestDiskLabel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/mnt/disk1", "mnt.disk1"},
		{"lvs-aio", "lvs-aio"},
		{"/a b", "sha256-"},
	} {
		got := diskLabel(tc.in)
		if got != tc.want && !(tc.want == "sha256-" && len(got) == 39) {
			t.Errorf("diskLabel(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
