package diskid

import (
	"context"
	"errors"
	"fmt"
)

// Claim states, as DiskStatus.Claim shows them when a ClaimStore is
// configured.
const (
	// ClaimHeld: the disk's UUID holds the claim of its prefix.
	ClaimHeld = "held"
	// ClaimPending: the disk's identity is written but its claim is not
	// finished; the disk is not usable until it is.
	ClaimPending = "pending"
	// ClaimHeldByOther: another disk holds the claim of the prefix.
	ClaimHeldByOther = "held-by-other"
	// ClaimUnknown: the claim could not be made or checked (the API server
	// did not answer); the next check retries.
	ClaimUnknown = "unknown"
)

// claimResult is what the claim phase of a check found.
type claimResult struct {
	view   ClaimView
	states map[string]string // disk key -> Claim* state
	conds  map[string][]Condition
	// holders are claims of other disks learnt from a refused claim and
	// maybe not in the view yet.
	holders []ClaimSpec
}

// checkClaims makes sure every loaded identity's claim is held: it finishes
// pending claims (which may pick a new UUID: nobody has used a pending
// one), claims identities that have none (written outside a cluster, or
// whose claim was deleted), claims the lvstores' UUIDs, and releases this
// node's claims that name a managed disk which now holds another identity.
// It updates obs with identities that changed. The caller holds m.opMu.
func (m *Manager) checkClaims(ctx context.Context, in checkInput, obs map[string]*observation) claimResult {
	r := claimResult{view: m.cfg.Claims.View(), states: map[string]string{}, conds: map[string][]Condition{}}
	byPrefix := make(map[string]ClaimSpec, len(r.view.Claims))
	taken := make(map[string]bool, len(r.view.Claims))
	for _, c := range r.view.Claims {
		byPrefix[c.Prefix] = c
		taken[c.Prefix] = true
	}
	for _, p := range in.paths {
		if o := obs[p]; o.loaded {
			taken[o.id.UUID.Prefix(m.cfg.PrefixLen)] = true
		}
	}
	n := m.cfg.PrefixLen
	for _, p := range in.paths {
		key, o := "path:"+p, obs[p]
		if !o.loaded {
			continue
		}
		prefix := o.id.UUID.Prefix(n)
		if o.id.ClaimPending {
			if !r.view.Synced {
				r.states[key] = ClaimPending
				r.conds[key] = append(r.conds[key], Condition{Type: CondClaimPending, Message: fmt.Sprintf(
					"the claim of prefix %s is not finished; waiting for the cluster registry (%s: %s)", prefix, r.view.Source, r.view.Problem)})
				continue
			}
			id, err := m.finishPending(ctx, p, o.id, taken)
			if err != nil {
				r.states[key] = ClaimPending
				r.conds[key] = append(r.conds[key], Condition{Type: CondClaimPending, Message: err.Error()})
				continue
			}
			o.id = id
			taken[id.UUID.Prefix(n)] = true
			r.states[key] = ClaimHeld
			continue
		}
		if c, ok := byPrefix[prefix]; ok {
			if c.UUID == o.id.UUID {
				r.states[key] = ClaimHeld
			} else {
				r.states[key] = ClaimHeldByOther
			}
			continue
		}
		r.states[key] = m.claimExisting(ctx, &r, key, m.spec(p, o.id.UUID))
	}
	for _, l := range in.lvstores {
		u, err := FromLvstore(l.UUID)
		if err != nil {
			continue
		}
		key := "lvstore:" + string(l.Name)
		if c, ok := byPrefix[u.Prefix(n)]; ok {
			r.states[key] = ClaimHeld
			if c.UUID != u {
				r.states[key] = ClaimHeldByOther
			}
			continue
		}
		spec := ClaimSpec{Prefix: u.Prefix(n), UUID: u, Node: m.cfg.Node, Disk: string(l.Name), Kind: KindLvstore}
		r.states[key] = m.claimExisting(ctx, &r, key, spec)
	}
	m.releaseStale(ctx, r.view, obs)
	return r
}

// claimExisting claims the prefix of an identity that is in use already:
// a refusal is a collision for decideCollisions, never a new UUID here.
func (m *Manager) claimExisting(ctx context.Context, r *claimResult, key string, spec ClaimSpec) string {
	err := m.cfg.Claims.Claim(ctx, spec)
	var ce *ClaimedError
	switch {
	case err == nil:
		m.log.Info("disk prefix claimed", "disk", spec.Disk, "uuid", spec.UUID, "prefix", spec.Prefix)
		return ClaimHeld
	case errors.As(err, &ce):
		r.holders = append(r.holders, ce.Holder)
		return ClaimHeldByOther
	}
	r.conds[key] = append(r.conds[key], Condition{Type: CondClaimPending, Message: fmt.Sprintf("cannot claim prefix %s: %v", spec.Prefix, err)})
	return ClaimUnknown
}

// finishPending completes the claim of a pending identity under the disk's
// lock. Another writer may have finished it meanwhile: then its result is
// taken as it is.
func (m *Manager) finishPending(ctx context.Context, path string, id Identity, taken map[string]bool) (Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.LockTimeout)
	defer cancel()
	var out Identity
	err := withLockedDir(ctx, path, IdentityFile, func(d *dirHandle) error {
		cur, err := readIdentityIn(d)
		if err != nil {
			return err
		}
		if cur.UUID != id.UUID || !cur.ClaimPending {
			out = cur
			return nil
		}
		out, err = m.claimIn(ctx, d, cur, false, taken)
		return err
	})
	if err == nil && out.UUID != id.UUID {
		m.log.Info("pending disk identity claimed with a new UUID", "path", path, "old_uuid", id.UUID, "new_uuid", out.UUID)
	}
	return out, err
}

// releaseStale deletes this node's claims naming a managed disk that now
// holds another identity (and not as the previous one of a pending claim):
// left over from an identity the disk no longer has. A disk that is missing
// or unreadable keeps its claims: absent is not deleted.
func (m *Manager) releaseStale(ctx context.Context, view ClaimView, obs map[string]*observation) {
	if m.cfg.Node == "" || !view.Synced {
		return
	}
	for _, c := range view.Claims {
		if c.Node != m.cfg.Node || c.Kind != KindFilesystem {
			continue
		}
		o, ok := obs[c.Disk]
		if !ok || !o.loaded || c.UUID == o.id.UUID || c.UUID == o.id.Previous {
			continue
		}
		if err := m.cfg.Claims.Release(ctx, c.Prefix, c.UUID); err != nil {
			m.log.Warn("cannot release a stale disk claim", "path", c.Disk, "uuid", c.UUID, "prefix", c.Prefix, "err", err)
			continue
		}
		m.log.Info("released the claim of an identity the disk no longer has", "path", c.Disk, "uuid", c.UUID, "prefix", c.Prefix, "now", o.id.UUID)
	}
}

// registryFromClaims is the collision domain's view of the other disks:
// every claim whose UUID is not one of this node's identities.
func (r claimResult) registryFromClaims(local map[DiskUUID]bool) Registry {
	var reg Registry
	for _, c := range append(r.view.Claims, r.holders...) {
		if local[c.UUID] {
			continue
		}
		reg.Disks = append(reg.Disks, RegistryEntry{UUID: c.UUID, Node: c.Node, Disk: string(c.Kind) + ":" + c.Disk})
	}
	return reg
}

// Forget stops managing the filesystem disk at path and deletes its claim,
// for a disk that leaves the agent. The identity file stays. It holds
// m.opMu so that no check claims the disk again between the two.
func (m *Manager) Forget(ctx context.Context, path string) error {
	p, err := cleanPath(path)
	if err != nil {
		return err
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	m.Remove(p)
	if m.cfg.Claims == nil {
		return nil
	}
	id, err := ReadIdentity(p)
	if err != nil {
		if errors.Is(err, ErrIdentityMissing) || errors.Is(err, ErrDiskMissing) {
			return nil
		}
		_, _ = m.Add(p)
		return fmt.Errorf("forget %s: %w", p, err)
	}
	var errs []error
	for _, u := range []DiskUUID{id.UUID, id.Previous} {
		if u != "" {
			errs = append(errs, m.cfg.Claims.Release(ctx, u.Prefix(m.cfg.PrefixLen), u))
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Still claimed: still managed, so that forgetting it again
		// retries instead of leaving the claim behind.
		_, _ = m.Add(p)
		return fmt.Errorf("forget %s: %w", p, err)
	}
	return nil
}
