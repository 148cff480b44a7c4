package diskid

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// observation is what Check found at one disk path.
type observation struct {
	id     Identity
	loaded bool
	unused bool
	fail   *Condition // why the identity could not be loaded
}

// observe reads the disk at path. It never fails: what went wrong becomes
// the observation's condition.
func observe(path string) observation {
	d, err := openDir(path)
	if err != nil {
		t := CondDiskUnreadable
		if errors.Is(err, ErrDiskMissing) {
			t = CondDiskMissing
		}
		return observation{fail: &Condition{Type: t, Message: err.Error()}}
	}
	defer d.close()
	id, err := readIdentityIn(d)
	if err != nil {
		t := CondIdentityInvalid
		if errors.Is(err, ErrIdentityMissing) {
			t = CondIdentityMissing
		}
		return observation{fail: &Condition{Type: t, Message: err.Error()}}
	}
	// A disk whose entries cannot be listed counts as used: only a disk
	// known to be empty may be regenerated without asking.
	unused, _, err := unusedIn(d)
	return observation{id: id, loaded: true, unused: unused && err == nil}
}

// checkInput is what one Check works from, copied under m.mu.
type checkInput struct {
	paths     []string
	lvstores  []LvstoreDisk
	reg       Registry
	colliding map[string]bool // keys already in collision, for counting
	// fromClaims: reg was built from the cluster's claims, which name this
	// node's other disks too (disks another process initialised).
	fromClaims bool
}

func (m *Manager) snapshot() checkInput {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := checkInput{reg: m.reg.cur, colliding: make(map[string]bool)}
	for p, d := range m.disks {
		in.paths = append(in.paths, p)
		if slices.ContainsFunc(d.conds, isCollision) {
			in.colliding["path:"+p] = true
		}
	}
	for name, l := range m.lvstores {
		in.lvstores = append(in.lvstores, l.LvstoreDisk)
		if slices.ContainsFunc(l.conds, isCollision) {
			in.colliding["lvstore:"+string(name)] = true
		}
	}
	slices.Sort(in.paths)
	slices.SortFunc(in.lvstores, func(a, b LvstoreDisk) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return in
}

func isCollision(c Condition) bool { return c.Type == CondPrefixCollision }

// Check reads every desired filesystem disk's identity, finds prefix
// collisions among local disks, lvstores and the registry, regenerates
// colliding unused disks when RegenerateUnused is on, and records a
// condition on every other disk that has a problem. It returns the resulting
// snapshot. Disks removed while Check runs are dropped from its result, not
// resurrected.
func (m *Manager) Check(ctx context.Context) ([]DiskStatus, error) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if err := m.checkLocked(ctx); err != nil {
		return nil, err
	}
	return m.Disks(), nil
}

// checkLocked is Check. The caller must hold m.opMu.
func (m *Manager) checkLocked(ctx context.Context) error {
	in := m.snapshot()
	obs := make(map[string]*observation, len(in.paths))
	for _, p := range in.paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		o := observe(p)
		obs[p] = &o
	}
	var cr *claimResult
	if m.cfg.Claims != nil {
		r := m.checkClaims(ctx, in, obs)
		cr = &r
		in.reg, in.fromClaims = r.registryFromClaims(localUUIDs(in, obs)), true
	}
	claims, taken := m.claims(in, obs)
	verdicts := decideCollisions(claims, m.cfg.PrefixLen)

	conds := make(map[string][]Condition)
	var newCollisions uint64
	for _, p := range in.paths {
		key, o := "path:"+p, obs[p]
		if !o.loaded {
			conds[key] = []Condition{*o.fail}
			continue
		}
		v, ok := verdicts[key]
		if !ok || !v.yield {
			continue
		}
		if !in.colliding[key] {
			newCollisions++
		}
		msg := fmt.Sprintf("prefix %s of %s is shared with %s", o.id.UUID.Prefix(m.cfg.PrefixLen), o.id.UUID, describe(v.with))
		switch {
		case !m.cfg.RegenerateUnused:
			msg += "; automatic regeneration is off"
		case !o.unused || lvstoreOn(in.lvstores, p):
			msg += fmt.Sprintf("; the disk is in use: evict it, then run 'spdk-agent disk regenerate %s --force'", p)
		case cr != nil && !cr.view.Synced:
			msg += "; not regenerated while the cluster registry is not synced"
		default:
			_, next, err := m.regenerateIn(ctx, p, o.id.UUID, false, taken, "prefix collision with "+describe(v.with))
			if err == nil {
				o.id = next
				taken[next.UUID.Prefix(m.cfg.PrefixLen)] = true
				continue
			}
			conds[key] = append(conds[key], Condition{Type: CondRegenerateFailed, Message: err.Error()})
		}
		conds[key] = append(conds[key], Condition{Type: CondPrefixCollision, Message: msg})
	}
	for _, l := range in.lvstores {
		key := "lvstore:" + string(l.Name)
		if _, err := FromLvstore(l.UUID); err != nil {
			conds[key] = []Condition{{Type: CondUUIDInvalid, Message: err.Error()}}
			continue
		}
		if v, ok := verdicts[key]; ok && v.yield {
			if !in.colliding[key] {
				newCollisions++
			}
			conds[key] = []Condition{{Type: CondPrefixCollision, Message: fmt.Sprintf(
				"prefix %s of lvstore UUID %s is shared with %s; SPDK owns lvstore UUIDs, so it cannot be regenerated",
				DiskUUID(l.UUID).Prefix(m.cfg.PrefixLen), l.UUID, describe(v.with))}}
		}
	}
	var states map[string]string
	if cr != nil {
		for k, cs := range cr.conds {
			conds[k] = append(conds[k], cs...)
		}
		states = cr.states
	}
	m.apply(in, obs, conds, states, newCollisions)
	return nil
}

// localUUIDs are the identities of this node's disks, the previous ones of
// pending claims included: their claims are this node's own.
func localUUIDs(in checkInput, obs map[string]*observation) map[DiskUUID]bool {
	local := make(map[DiskUUID]bool)
	for _, p := range in.paths {
		if o := obs[p]; o.loaded {
			local[o.id.UUID] = true
			if o.id.Previous != "" {
				local[o.id.Previous] = true
			}
		}
	}
	for _, l := range in.lvstores {
		if u, err := FromLvstore(l.UUID); err == nil {
			local[u] = true
		}
	}
	return local
}

// claims builds the collision domain from what was observed, and the set of
// every known prefix (the registry's entries for this node included) that a
// new UUID must avoid.
func (m *Manager) claims(in checkInput, obs map[string]*observation) ([]claim, map[string]bool) {
	var cs []claim
	local := make(map[DiskUUID]bool)
	taken := make(map[string]bool)
	for _, p := range in.paths {
		o := obs[p]
		if !o.loaded {
			continue
		}
		local[o.id.UUID] = true
		cs = append(cs, claim{key: "path:" + p, label: p, uuid: o.id.UUID, local: true,
			inUse: !o.unused || lvstoreOn(in.lvstores, p), created: o.id.Created})
	}
	for _, l := range in.lvstores {
		u, err := FromLvstore(l.UUID)
		if err != nil {
			continue
		}
		local[u] = true
		cs = append(cs, claim{key: "lvstore:" + string(l.Name), label: "lvstore " + string(l.Name), uuid: u, local: true, fixed: true, inUse: true})
	}
	for _, e := range in.reg.Disks {
		taken[e.UUID.Prefix(m.cfg.PrefixLen)] = true
		if in.fromClaims && local[e.UUID] {
			continue
		}
		if !in.fromClaims && ((m.cfg.Node != "" && e.Node == m.cfg.Node) || (m.cfg.Node == "" && local[e.UUID])) {
			continue
		}
		cs = append(cs, claim{key: "registry:" + e.Node + "/" + e.Disk + "/" + string(e.UUID), label: e.Node + "/" + e.Disk, uuid: e.UUID})
	}
	for _, c := range cs {
		taken[c.uuid.Prefix(m.cfg.PrefixLen)] = true
	}
	return cs, taken
}

func lvstoreOn(ls []LvstoreDisk, path string) bool {
	return slices.ContainsFunc(ls, func(l LvstoreDisk) bool { return l.Path == path })
}

// apply stores what checkLocked found. Disks and lvstores that were removed
// or changed meanwhile keep their current state: absent is not deleted.
func (m *Manager) apply(in checkInput, obs map[string]*observation, conds map[string][]Condition, claimStates map[string]string, newCollisions uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range in.paths {
		d, ok := m.disks[p]
		if !ok {
			m.log.Info("disk removed while it was being checked; result dropped", "path", p)
			continue
		}
		o := obs[p]
		if o.loaded {
			d.id = o.id
		}
		d.loaded = o.loaded
		d.conds = conds["path:"+p]
		d.claim = claimStates["path:"+p]
	}
	for _, l := range in.lvstores {
		cur, ok := m.lvstores[l.Name]
		if !ok || cur.UUID != l.UUID {
			continue
		}
		cur.conds = conds["lvstore:"+string(l.Name)]
		cur.claim = claimStates["lvstore:"+string(l.Name)]
	}
	m.counters.Collisions += newCollisions
	m.checked = true
}

// knownPrefixes returns every prefix a new UUID must avoid, from the last
// observed state.
func (m *Manager) knownPrefixes() map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	taken := make(map[string]bool)
	for _, d := range m.disks {
		if d.id.UUID != "" {
			taken[d.id.UUID.Prefix(m.cfg.PrefixLen)] = true
		}
	}
	for _, l := range m.lvstores {
		if u, err := FromLvstore(l.UUID); err == nil {
			taken[u.Prefix(m.cfg.PrefixLen)] = true
		}
	}
	for _, e := range m.reg.cur.Disks {
		taken[e.UUID.Prefix(m.cfg.PrefixLen)] = true
	}
	if m.cfg.Claims != nil {
		for _, c := range m.cfg.Claims.View().Claims {
			taken[c.Prefix] = true
		}
	}
	return taken
}

// lvstoresOn names the lvstores whose base file is on the disk at path.
func (m *Manager) lvstoresOn(path string) []spdkrpc.LvstoreName {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []spdkrpc.LvstoreName
	for name, l := range m.lvstores {
		if l.Path == path {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
