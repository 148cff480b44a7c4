package kubereg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/spdk-agent/spdk-agent/diskid"
)

// Config configures a Store.
type Config struct {
	Client    kubernetes.Interface
	Namespace string
	// Node is the name of this node's Node object, the owner of its claims.
	Node string
	// OnChange, when set, is called after every change of the view or of
	// its sync state, without locks held: tests wait on it.
	OnChange func()
	Logger   *slog.Logger
}

// Store is the cluster's set of disk prefix claims (a diskid.ClaimStore).
// Run must be running for View to fill; Claim and Release work without it.
type Store struct {
	cfg      Config
	log      *slog.Logger
	leases   func() []any // the informer's cache
	informer cache.SharedIndexInformer
	notify   chan struct{} // receives after changes; see Changed

	mu      sync.Mutex // protects the fields below
	problem string     // why the view is not current; empty when it is
	// mine are claims this store made or confirmed that the informer has
	// not shown yet, and gone those it released that the informer still
	// shows: the view includes a store's own changes at once.
	mine map[string]diskid.ClaimSpec
	gone map[string]bool
}

// New returns a Store for cfg. It does not talk to the API server.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil || cfg.Namespace == "" || cfg.Node == "" {
		return nil, errors.New("kubereg: a client, a namespace and a node name are needed")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{cfg: cfg, log: cfg.Logger.With("component", "kubereg"), problem: "not listed yet",
		mine: map[string]diskid.ClaimSpec{}, gone: map[string]bool{}, notify: make(chan struct{}, 1)}
	leases := cfg.Client.CoordinationV1().Leases(cfg.Namespace)
	selector := LabelKind // every claim carries the kind label
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			list, err := leases.List(ctx, o)
			s.observed("list", err)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			w, err := leases.Watch(ctx, o)
			if err != nil {
				s.observed("watch", err)
				return nil, err
			}
			s.observed("watch", nil)
			return newEndWatch(w, func() { s.observed("watch", errWatchEnded) }), nil
		},
	}
	s.informer = cache.NewSharedIndexInformer(lw, &coordinationv1.Lease{}, 0, cache.Indexers{})
	s.leases = s.informer.GetStore().List
	notify := func(obj any) { s.seen(obj) }
	if _, err := s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		DeleteFunc: notify,
	}); err != nil {
		return nil, err
	}
	if err := s.informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		s.observed("watch", err)
	}); err != nil {
		return nil, err
	}
	return s, nil
}

var errWatchEnded = errors.New("watch ended; re-establishing it")

// Run follows the claims until ctx is done.
func (s *Store) Run(ctx context.Context) {
	s.informer.RunWithContext(ctx)
}

// WaitForSync waits until the claims have been listed, or ctx is done.
func (s *Store) WaitForSync(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), s.informer.HasSynced) {
		return fmt.Errorf("%w: %s: %s", diskid.ErrRegistryNotSynced, s.source(), s.View().Problem)
	}
	return nil
}

func (s *Store) source() string { return "kube:" + s.cfg.Namespace }

// observed records the outcome of a list or watch call.
func (s *Store) observed(what string, err error) {
	s.mu.Lock()
	before := s.problem
	if err == nil {
		s.problem = ""
	} else {
		s.problem = what + ": " + err.Error()
	}
	changed := before != s.problem
	s.mu.Unlock()
	if changed {
		if err != nil {
			s.log.Warn("disk claims not current; keeping the last good view", "err", s.problem)
		} else if before != "" {
			s.log.Info("disk claims current again", "after", before)
		}
		s.changed()
	}
}

// seen drops the local overlay of a claim the informer now shows.
func (s *Store) seen(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if l, ok := obj.(*coordinationv1.Lease); ok {
		s.mu.Lock()
		delete(s.mine, l.Name)
		delete(s.gone, l.Name)
		s.mu.Unlock()
	}
	s.changed()
}

// Changed receives after the view or its sync state changed (several
// changes may make one receive): diskid.Manager.Run re-checks the disks.
func (s *Store) Changed() <-chan struct{} { return s.notify }

func (s *Store) changed() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
	if s.cfg.OnChange != nil {
		s.cfg.OnChange()
	}
}

// View returns the claims as last seen, with this store's own changes.
func (s *Store) View() diskid.ClaimView {
	objs := s.leases()
	s.mu.Lock()
	defer s.mu.Unlock()
	v := diskid.ClaimView{Source: s.source(), Good: s.informer.HasSynced(), Problem: s.problem}
	v.Synced = v.Good && s.problem == ""
	if !v.Good && v.Problem == "" {
		v.Problem = "not listed yet"
	}
	seen := make(map[string]bool, len(objs))
	for _, o := range objs {
		l, ok := o.(*coordinationv1.Lease)
		if !ok || s.gone[l.Name] {
			continue
		}
		c, err := ParseLease(l)
		if err != nil {
			continue // reported when it was added
		}
		seen[l.Name] = true
		if m, ok := s.mine[l.Name]; ok {
			c = m
		}
		v.Claims = append(v.Claims, c)
	}
	for name, c := range s.mine {
		if !seen[name] {
			v.Claims = append(v.Claims, c)
		}
	}
	sort.Slice(v.Claims, func(i, j int) bool { return v.Claims[i].Prefix < v.Claims[j].Prefix })
	return v
}

// Claim creates the Lease of c.Prefix held by c.UUID (see diskid.ClaimStore).
func (s *Store) Claim(ctx context.Context, c diskid.ClaimSpec) error {
	owner, err := s.nodeOwner(ctx)
	if err != nil {
		return err
	}
	leases := s.cfg.Client.CoordinationV1().Leases(s.cfg.Namespace)
	want := newLease(s.cfg.Namespace, c, owner)
	for range 5 {
		_, err := leases.Create(ctx, want, metav1.CreateOptions{})
		if err == nil {
			s.remember(c)
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create lease %s: %w", want.Name, err)
		}
		got, err := leases.Get(ctx, want.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // released meanwhile: try again
		}
		if err != nil {
			return fmt.Errorf("read lease %s: %w", want.Name, err)
		}
		held, err := ParseLease(got)
		if err != nil {
			// Not a claim this agent can read: the prefix is not free,
			// and nobody here may delete it.
			return &diskid.ClaimedError{Holder: diskid.ClaimSpec{Prefix: c.Prefix, UUID: holderOf(got), Node: got.Labels[LabelNode], Disk: "lease " + got.Name + " (" + err.Error() + ")"}}
		}
		if held.UUID != c.UUID {
			return &diskid.ClaimedError{Holder: held}
		}
		if held.Node != c.Node || held.Disk != c.Disk || held.Kind != c.Kind {
			// The disk moved. The agent may not update Leases (its Role
			// allows get, list, watch, create, delete), and a delete and
			// create would free the prefix in between: the claim stays
			// as it is, still the disk's.
			s.log.Warn("disk claim names another place; the disk moved", "lease", want.Name,
				"claim_node", held.Node, "claim_disk", held.Disk, "node", c.Node, "disk", c.Disk)
		}
		s.remember(held)
		return nil
	}
	return fmt.Errorf("claim lease %s: it kept changing underneath", want.Name)
}

func holderOf(l *coordinationv1.Lease) diskid.DiskUUID {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return diskid.DiskUUID(*l.Spec.HolderIdentity)
}

// Release deletes the Lease of prefix if u holds it. The delete is
// conditional on the Lease read, so a claim taken over meanwhile stays.
func (s *Store) Release(ctx context.Context, prefix string, u diskid.DiskUUID) error {
	leases := s.cfg.Client.CoordinationV1().Leases(s.cfg.Namespace)
	name := LeaseName(prefix)
	for range 5 {
		got, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			s.forget(name)
			return nil
		}
		if err != nil {
			return fmt.Errorf("read lease %s: %w", name, err)
		}
		if holderOf(got) != u {
			s.forget(name)
			return nil
		}
		uid, rv := got.UID, got.ResourceVersion
		err = leases.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			s.mu.Lock()
			delete(s.mine, name)
			s.gone[name] = true
			s.mu.Unlock()
			s.changed()
			return nil
		case apierrors.IsConflict(err):
			continue
		default:
			return fmt.Errorf("delete lease %s: %w", name, err)
		}
	}
	return fmt.Errorf("release lease %s: it kept changing underneath", name)
}

func (s *Store) remember(c diskid.ClaimSpec) {
	name := LeaseName(c.Prefix)
	s.mu.Lock()
	s.mine[name] = c
	delete(s.gone, name)
	s.mu.Unlock()
	s.changed()
}

func (s *Store) forget(name string) {
	s.mu.Lock()
	delete(s.mine, name)
	s.mu.Unlock()
}

// nodeOwner reads this node's Node: claims are owned by it. It is read at
// every claim, never cached: a Node deleted and registered again (as a
// kubelet does) has a new UID, and a claim owned by the old one would be
// collected by the garbage collector as soon as it is made.
func (s *Store) nodeOwner(ctx context.Context) (*metav1.OwnerReference, error) {
	n, err := s.cfg.Client.CoreV1().Nodes().Get(ctx, s.cfg.Node, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read node %s, the owner of its disk claims: %w", s.cfg.Node, err)
	}
	return nodeOwner(n), nil
}

// endWatch is a watch that reports when its result channel closes by
// itself (the API server went away or ended the watch): until the informer
// watches again, the view is not current.
type endWatch struct {
	inner watch.Interface
	ch    chan watch.Event
	stop  sync.Once
	done  chan struct{} // closed by Stop
}

func newEndWatch(inner watch.Interface, ended func()) *endWatch {
	w := &endWatch{inner: inner, ch: make(chan watch.Event), done: make(chan struct{})}
	// The goroutine ends when the inner watch's channel closes, which
	// Stop makes it do.
	go func() {
		defer close(w.ch)
		for ev := range inner.ResultChan() {
			select {
			case w.ch <- ev:
			case <-w.done:
			}
		}
		select {
		case <-w.done:
		default:
			ended()
		}
	}()
	return w
}

func (w *endWatch) Stop() {
	w.stop.Do(func() { close(w.done) })
	w.inner.Stop()
}

func (w *endWatch) ResultChan() <-chan watch.Event { return w.ch }
