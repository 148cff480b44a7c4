package diskid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// Config configures a Manager. Start from DefaultConfig: the zero value of
// RegenerateUnused is off.
type Config struct {
	// Node is this node's name as the registry lists it. Registry entries
	// of this node are ignored for collisions: the node's own disks are
	// observed directly, and the registry may still list a UUID the node
	// has since regenerated. When empty, only entries with a local disk's
	// exact UUID are taken to be this node's.
	Node string
	// PrefixLen is the number of hex digits that must be unique (1-32).
	PrefixLen int
	// RegenerateUnused lets Check give a colliding disk that holds nothing
	// but its identity file a new UUID. Disks in use are only reported.
	RegenerateUnused bool
	// RegistryPath is the cluster registry file, usually in a mounted
	// ConfigMap. Empty: no registry, collisions are checked among local
	// disks only.
	RegistryPath string
	// StateDir keeps a copy of the last good registry, used at start-up
	// when the mounted one is missing or bad. Empty: no copy.
	StateDir string
	// MaxDropFraction is the share of known disks one registry update may
	// drop (see checkPlausible). Zero means DefaultMaxDropFraction; 1
	// accepts any update that parses.
	MaxDropFraction float64
	// MaxAttempts bounds the random UUIDs tried for one disk.
	MaxAttempts int
	// Debounce is how long registry file events must settle.
	Debounce time.Duration
	// RecheckInterval is how often Run re-reads the registry and re-checks
	// the disks even without events, to see disks deleted under it.
	RecheckInterval time.Duration
	// LockTimeout bounds waiting for another writer's lock.
	LockTimeout time.Duration

	// Claims, when set, is the cluster's set of prefix claims: it replaces
	// the registry file, and every identity is claimed before it is used.
	Claims ClaimStore
	// StepHook, when set, is called at each Step* of claiming an identity,
	// so that crash tests can kill the process exactly there.
	StepHook func(step string)

	Logger *slog.Logger
	// Now and NewUUID replace the clock and the UUID source in tests.
	Now     func() time.Time
	NewUUID func() (uuid.UUID, error)
}

// DefaultConfig returns the defaults: 4-digit prefixes, regeneration of
// unused disks on, 50% drop threshold.
func DefaultConfig() Config {
	return Config{
		PrefixLen:        DefaultPrefixLen,
		RegenerateUnused: true,
		MaxDropFraction:  DefaultMaxDropFraction,
		MaxAttempts:      DefaultMaxAttempts,
		Debounce:         200 * time.Millisecond,
		RecheckInterval:  time.Minute,
		LockTimeout:      10 * time.Second,
	}
}

// LvstoreDisk is an lvstore the agent manages, as SPDK reports it.
type LvstoreDisk struct {
	Name spdkrpc.LvstoreName
	UUID spdkrpc.LvstoreUUID
	// Path is the filesystem disk directory holding the lvstore's base
	// file, if any: such a disk is in use and never regenerated.
	Path string
}

// Manager keeps the identities of a node's disks unique. All methods are
// safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger

	// opMu serialises operations that write identity files (Init, Check,
	// Regenerate, and the registry reload) so that two of them never pick
	// UUIDs from the same view of taken prefixes. It is held across I/O;
	// mu is not.
	opMu sync.Mutex

	mu       sync.Mutex // protects the fields below; never held across I/O
	disks    map[string]*fsDisk
	lvstores map[spdkrpc.LvstoreName]*lvsDisk
	reg      registryState
	counters Counters
	checked  bool // a Check has completed: identities are loaded

	// lvstoresChanged wakes Run when SetLvstores brings a new set: a new
	// lvstore is claimed at once, not at the next RecheckInterval.
	lvstoresChanged chan struct{}
}

// fsDisk is a desired filesystem disk and what was last observed of it.
type fsDisk struct {
	path   string
	id     Identity
	loaded bool // id is valid
	conds  []Condition
	claim  string // a Claim* state; empty without a ClaimStore
}

// lvsDisk is an lvstore disk and the conditions last found on it.
type lvsDisk struct {
	LvstoreDisk
	conds []Condition
	claim string
}

// NewManager checks cfg and returns a Manager with no disks.
func NewManager(cfg Config) (*Manager, error) {
	def := DefaultConfig()
	if cfg.PrefixLen == 0 {
		cfg.PrefixLen = def.PrefixLen
	}
	if cfg.PrefixLen < 1 || cfg.PrefixLen > 32 {
		return nil, fmt.Errorf("diskid: prefix length %d: want 1 to 32", cfg.PrefixLen)
	}
	if cfg.MaxDropFraction == 0 {
		cfg.MaxDropFraction = def.MaxDropFraction
	}
	if cfg.MaxDropFraction < 0 || cfg.MaxDropFraction > 1 {
		return nil, fmt.Errorf("diskid: max drop fraction %g: want 0 to 1", cfg.MaxDropFraction)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = def.Debounce
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = def.RecheckInterval
	}
	if cfg.LockTimeout <= 0 {
		cfg.LockTimeout = def.LockTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewUUID == nil {
		cfg.NewUUID = uuid.NewRandom
	}
	return &Manager{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "diskid"),
		disks:    make(map[string]*fsDisk),
		lvstores: make(map[spdkrpc.LvstoreName]*lvsDisk),

		lvstoresChanged: make(chan struct{}, 1),
	}, nil
}

// cleanPath makes the map key for a disk directory.
func cleanPath(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: empty disk path", ErrUnknownDisk)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("disk path %q: %w", path, err)
	}
	return abs, nil
}

// Add makes the filesystem disk at path desired without touching it; the
// next Check reads its identity. It returns the cleaned path.
func (m *Manager) Add(path string) (string, error) {
	p, err := cleanPath(path)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.disks[p]; !ok {
		m.disks[p] = &fsDisk{path: p}
	}
	return p, nil
}

// Remove makes the disk at path no longer desired. An operation already
// running on it finishes, and its result is dropped.
func (m *Manager) Remove(path string) {
	p, err := cleanPath(path)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.disks, p)
}

// SetLvstores replaces the set of lvstore disks. A set that differs from
// the last one (an lvstore added, gone or with another UUID) wakes Run, whose
// Check claims the new ones and finds their collisions.
func (m *Manager) SetLvstores(ls []LvstoreDisk) {
	next := make(map[spdkrpc.LvstoreName]*lvsDisk, len(ls))
	for _, l := range ls {
		if l.Path != "" {
			if p, err := cleanPath(l.Path); err == nil {
				l.Path = p
			}
		}
		next[l.Name] = &lvsDisk{LvstoreDisk: l}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Keep the conditions of lvstores that did not change until the next
	// Check recomputes them.
	same := len(next) == len(m.lvstores)
	for name, l := range next {
		if old, ok := m.lvstores[name]; ok && old.UUID == l.UUID {
			l.conds, l.claim = old.conds, old.claim
		} else {
			same = false
		}
	}
	m.lvstores = next
	if !same {
		select {
		case m.lvstoresChanged <- struct{}{}:
		default: // a check is already due
		}
	}
}

// Disks returns a snapshot of every managed disk, sorted by kind and path or
// lvstore name.
func (m *Manager) Disks() []DiskStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.disksLocked()
}

// disksLocked builds the snapshot. The caller must hold m.mu.
func (m *Manager) disksLocked() []DiskStatus {
	out := make([]DiskStatus, 0, len(m.disks)+len(m.lvstores))
	for _, d := range m.disks {
		s := DiskStatus{Kind: KindFilesystem, Path: d.path, Name: filepath.Base(d.path), Conditions: clone(d.conds), Claim: d.claim}
		if d.loaded {
			s.UUID, s.Prefix = d.id.UUID, d.id.UUID.Prefix(m.cfg.PrefixLen)
			if d.id.Name != "" {
				s.Name = d.id.Name
			}
		} else if !m.checked || len(d.conds) == 0 {
			s.Conditions = append(s.Conditions, Condition{Type: CondIdentityMissing, Message: "not checked yet"})
		}
		s.State = stateOf(s.Conditions)
		out = append(out, s)
	}
	for _, l := range m.lvstores {
		s := DiskStatus{Kind: KindLvstore, Lvstore: l.Name, Name: string(l.Name), Path: l.Path, Conditions: clone(l.conds), Claim: l.claim}
		if u, err := FromLvstore(l.UUID); err == nil {
			s.UUID, s.Prefix = u, u.Prefix(m.cfg.PrefixLen)
		}
		s.State = stateOf(s.Conditions)
		out = append(out, s)
	}
	sortStatuses(out)
	return out
}

func clone[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append([]T(nil), s...)
}

// Lookup returns the status of the filesystem disk at path; ok is false
// when the manager does not manage it (any more).
func (m *Manager) Lookup(path string) (DiskStatus, bool) {
	p, err := cleanPath(path)
	if err != nil {
		return DiskStatus{}, false
	}
	for _, s := range m.Disks() {
		if s.Kind == KindFilesystem && s.Path == p {
			return s, true
		}
	}
	return DiskStatus{}, false
}

// Counters returns the cumulative counts.
func (m *Manager) Counters() Counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counters
}

// Ready reports whether the identities are loaded and the registry is
// usable, with the reason when not (for a readiness check). A disk whose
// identity is damaged or missing makes the node not ready: an operator must
// look at it before the node takes new work. A stale registry (the last
// good one kept after a rejected update) is still ready; the reason says so.
func (m *Manager) Ready() (bool, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.checked {
		return false, "disk identities not loaded yet"
	}
	for _, s := range m.disksLocked() {
		if s.Kind == KindFilesystem && s.State == StateFailed {
			return false, fmt.Sprintf("disk %s: %s", s.Path, s.Conditions[0].Message)
		}
	}
	if m.cfg.Claims != nil {
		if v := m.cfg.Claims.View(); !v.Good {
			return false, fmt.Sprintf("%v: %s: %s", ErrRegistryNotSynced, v.Source, v.Problem)
		} else if !v.Synced {
			return true, fmt.Sprintf("ok; cluster registry not synced (using the last good view of %d claims): %s", len(v.Claims), v.Problem)
		}
	}
	if m.cfg.RegistryPath != "" && !m.reg.good {
		return false, fmt.Sprintf("%v: %v", ErrNoRegistry, m.reg.err)
	}
	if m.reg.stale {
		return true, fmt.Sprintf("ok; registry stale (using %s): %v", m.reg.source, m.reg.err)
	}
	return true, "ok"
}

// Run re-reads the registry when its directory changes and re-checks the
// disks, and does both every RecheckInterval, until ctx is done. It returns
// after every goroutine it started has stopped.
func (m *Manager) Run(ctx context.Context) error {
	m.refresh(ctx)
	kick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	if m.cfg.RegistryPath != "" {
		wg.Go(func() {
			watchDir(ctx, m.cfg.RegistryPath, m.cfg.Debounce, m.log, func() {
				select {
				case kick <- struct{}{}:
				default: // a refresh is already pending
				}
			})
		})
	}
	// A store that says when the claims change gets every change
	// re-checked: a claim deleted under a disk is claimed again.
	var claimsChanged <-chan struct{}
	if n, ok := m.cfg.Claims.(interface{ Changed() <-chan struct{} }); ok {
		claimsChanged = n.Changed()
	}
	tick := time.NewTicker(m.cfg.RecheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-claimsChanged:
		case <-m.lvstoresChanged:
		case <-tick.C:
		}
		m.refresh(ctx)
	}
}

// refresh reloads the registry and checks the disks, logging failures: in
// the loop they are reported through Disks, Ready and Counters.
func (m *Manager) refresh(ctx context.Context) {
	if m.cfg.RegistryPath != "" {
		if err := m.ReloadRegistry(ctx); err != nil && !errors.Is(err, context.Canceled) {
			m.log.Debug("disk registry reload", "err", err)
		}
	}
	if _, err := m.Check(ctx); err != nil && !errors.Is(err, context.Canceled) {
		m.log.Warn("disk check", "err", err)
	}
}
