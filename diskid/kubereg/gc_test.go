package kubereg

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/internal/kubetest"
)

// These tests run Kubernetes' own garbage collector (kube-controller-manager)
// against the claims: that deleting a Node frees its disks' prefixes is a
// promise of the owner references, which only the collector keeps.

func TestGarbageCollector_deletedNodeFreesItsClaims(t *testing.T) {
	api := kubetest.Start(t)
	api.StartGarbageCollector(t)
	api.CreateNodes(t, "n1", "n2")
	s1, _ := startStore(t, api, "n1")
	s2, changed2 := startStore(t, api, "n2")
	ctx := context.Background()
	gone := []diskid.ClaimSpec{
		{Prefix: "a1", UUID: "a1000000-0000-4000-8000-000000000001", Node: "n1", Disk: "/mnt/d1", Kind: diskid.KindFilesystem},
		{Prefix: "a2", UUID: "a2000000-0000-4000-8000-000000000001", Node: "n1", Disk: "lvs0", Kind: diskid.KindLvstore},
	}
	kept := diskid.ClaimSpec{Prefix: "b1", UUID: "b1000000-0000-4000-8000-000000000001", Node: "n2", Disk: "/mnt/d1", Kind: diskid.KindFilesystem}
	for _, c := range gone {
		if err := s1.Claim(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s2.Claim(ctx, kept); err != nil {
		t.Fatal(err)
	}
	waitFor(t, changed2, func() bool { return len(s2.View().Claims) == 3 })

	start := time.Now()
	if err := api.Client(t).CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, changed2, func() bool { return len(s2.View().Claims) == 1 })
	t.Logf("claims of the deleted node collected %v after its delete", time.Since(start).Round(time.Millisecond))
	if v := s2.View(); !v.Synced || v.Claims[0] != kept {
		t.Fatalf("view after the collection: %+v, want only %+v", v, kept)
	}
	leases, err := api.Client(t).CoordinationV1().Leases("default").List(ctx, metav1.ListOptions{LabelSelector: LabelKind})
	if err != nil {
		t.Fatal(err)
	}
	if len(leases.Items) != 1 || leases.Items[0].Name != LeaseName(kept.Prefix) {
		t.Fatalf("leases on the API server: %v, want only %s", leaseNames(leases.Items), LeaseName(kept.Prefix))
	}
	// The freed prefix can be claimed by another node's disk.
	reuse := diskid.ClaimSpec{Prefix: "a1", UUID: "a1000000-0000-4000-8000-000000000002", Node: "n2", Disk: "/mnt/d2", Kind: diskid.KindFilesystem}
	if err := s2.Claim(ctx, reuse); err != nil {
		t.Fatalf("claiming a collected prefix: %v", err)
	}
}

// A Node deleted and registered again (a kubelet does this) has a new UID.
// Claims made after that must be owned by the new Node, or the collector
// deletes them as soon as they are made.
func TestGarbageCollector_recreatedNodeOwnsNewClaims(t *testing.T) {
	api := kubetest.Start(t)
	api.StartGarbageCollector(t)
	api.CreateNodes(t, "n1")
	s, changed := startStore(t, api, "n1")
	ctx := context.Background()
	client := api.Client(t)
	first := diskid.ClaimSpec{Prefix: "c1", UUID: "c1000000-0000-4000-8000-000000000001", Node: "n1", Disk: "/mnt/d1", Kind: diskid.KindFilesystem}
	if err := s.Claim(ctx, first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, changed, func() bool { return len(s.View().Claims) == 1 })
	old, err := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, changed, func() bool { return len(s.View().Claims) == 0 })
	api.CreateNodes(t, "n1")
	now, err := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	second := diskid.ClaimSpec{Prefix: "c2", UUID: "c2000000-0000-4000-8000-000000000001", Node: "n1", Disk: "/mnt/d2", Kind: diskid.KindFilesystem}
	if err := s.Claim(ctx, second); err != nil {
		t.Fatal(err)
	}
	l, err := client.CoordinationV1().Leases("default").Get(ctx, LeaseName(second.Prefix), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != now.UID {
		t.Fatalf("new claim owned by %+v, want the new node's UID %s (the old one was %s)", l.OwnerReferences, now.UID, old.UID)
	}

	// A sentinel owned by the old Node, made after the claim, is collected;
	// the collector has then seen the claim, which must still be there.
	w, err := client.CoordinationV1().Leases("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=gc-sentinel"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	sentinel := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "gc-sentinel", Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "n1", UID: types.UID(old.UID)}}}}
	if _, err := client.CoordinationV1().Leases("default").Create(ctx, sentinel, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for deleted := false; !deleted; {
		ev, ok := <-w.ResultChan()
		if !ok {
			t.Fatal("the watch of the sentinel ended before the collector deleted it")
		}
		deleted = ev.Type == watch.Deleted
	}
	if _, err := client.CoordinationV1().Leases("default").Get(ctx, LeaseName(second.Prefix), metav1.GetOptions{}); err != nil {
		t.Fatalf("the claim made after the node came back: %v", err)
	}
	if v := s.View(); len(v.Claims) != 1 || v.Claims[0] != second {
		t.Fatalf("view: %+v, want only %+v", v, second)
	}
}

func leaseNames(ls []coordinationv1.Lease) []string {
	var names []string
	for _, l := range ls {
		names = append(names, l.Name)
	}
	return names
}
