package diskid

import (
	"context"
	"errors"
	"fmt"
	"maps"
)

// ClaimStore is the cluster-wide set of prefix claims: one object per
// prefix, created atomically, that names the disk holding it. The Manager
// uses it when it runs in a cluster (see package kubereg); outside one,
// the registry file stands in and nothing is claimed.
type ClaimStore interface {
	// Claim creates the claim of c.Prefix for c.UUID. It returns nil when
	// c.UUID holds the claim, whether it was created now or before, and an
	// error wrapping ErrPrefixClaimed when another UUID holds it. Any other
	// error leaves the outcome unknown: the claim may or may not exist.
	Claim(ctx context.Context, c ClaimSpec) error
	// Release deletes the claim of prefix if u holds it. A missing claim,
	// or one held by another UUID, is left alone and is not an error.
	Release(ctx context.Context, prefix string, u DiskUUID) error
	// View returns every claim of the cluster as last seen, and whether
	// that list is current (listed and watched without error since).
	View() ClaimView
}

// ClaimSpec is one claim: the prefix, the disk holding it and where it is.
type ClaimSpec struct {
	Prefix string
	UUID   DiskUUID
	Node   string
	// Disk is the directory of a filesystem disk or an lvstore's name.
	Disk string
	Kind Kind
}

// ClaimedError is returned (as an error wrapping ErrPrefixClaimed) when
// another disk holds the claim of a prefix; Holder is that claim.
type ClaimedError struct {
	Holder ClaimSpec
}

func (e *ClaimedError) Error() string {
	return fmt.Sprintf("%v: prefix %s is held by %s (node %s, %s %s)", ErrPrefixClaimed,
		e.Holder.Prefix, e.Holder.UUID, e.Holder.Node, e.Holder.Kind, e.Holder.Disk)
}

// Is makes errors.Is(err, ErrPrefixClaimed) true.
func (e *ClaimedError) Is(target error) bool { return target == ErrPrefixClaimed }

// ClaimView is a ClaimStore's list of claims.
type ClaimView struct {
	Claims []ClaimSpec
	// Synced is true when Claims is the store's current content. A view
	// that is not synced never counts as "no other disks".
	Synced bool
	// Good is true once the store has listed the claims at least once:
	// Claims is then the last good view, even while not Synced.
	Good bool
	// Source says where the claims live, for status output.
	Source string
	// Problem says why the view is not synced.
	Problem string
}

// Steps at which Config.StepHook is called while an identity is claimed.
const (
	StepPendingWritten = "pending-written" // the identity file says "claim pending"
	StepClaimed        = "claimed"         // the claim exists, the file still says pending
	StepReleased       = "released"        // a regenerated disk's previous claim is gone
	StepDone           = "done"            // the file no longer says pending
)

func (m *Manager) step(name string) {
	if m.cfg.StepHook != nil {
		m.cfg.StepHook(name)
	}
}

// requireSynced refuses to pick a UUID from a view that may be incomplete:
// an informer that has not listed, or an API server that does not answer,
// would make every prefix look free (design invariant 4).
func (m *Manager) requireSynced() error {
	if m.cfg.Claims == nil {
		return nil
	}
	v := m.cfg.Claims.View()
	if !v.Synced {
		return fmt.Errorf("%w: %s: %s", ErrRegistryNotSynced, v.Source, v.Problem)
	}
	return nil
}

// spec is the claim of id for the filesystem disk at path.
func (m *Manager) spec(path string, u DiskUUID) ClaimSpec {
	return ClaimSpec{Prefix: u.Prefix(m.cfg.PrefixLen), UUID: u, Node: m.cfg.Node, Disk: path, Kind: KindFilesystem}
}

// claimIn gives the disk in d the identity id and its claim, in an order
// that a crash at any point leaves repairable by the next Check:
//
//  1. the identity is written with ClaimPending set (created when create is
//     true, replaced otherwise): a pending disk is never used;
//  2. the claim is created; a prefix held by another disk means a new UUID
//     and back to 1, since nobody has used the pending one;
//  3. the previous identity's claim, if any, is released;
//  4. the identity is rewritten without ClaimPending.
//
// So a claim never exists without the identity file naming its UUID, except
// for the previous claim between 2 and 3, which the pending file names.
// When no prefix is free the pending file written here is removed (or the
// previous identity put back) and nothing is left claimed. An error of
// unknown outcome keeps the pending file for the next Check to finish. The
// caller holds m.opMu and d's lock.
func (m *Manager) claimIn(ctx context.Context, d *dirHandle, id Identity, create bool, taken map[string]bool) (Identity, error) {
	taken = maps.Clone(taken)
	wrote := false
	for {
		id.ClaimPending = true
		var err error
		if create && !wrote {
			err = createIdentityIn(d, id)
		} else {
			err = d.writeAtomic(IdentityFile, id.Marshal(), false)
		}
		if err != nil {
			return Identity{}, err
		}
		wrote = true
		m.step(StepPendingWritten)
		err = m.cfg.Claims.Claim(ctx, m.spec(d.path, id.UUID))
		if errors.Is(err, ErrPrefixClaimed) {
			taken[id.UUID.Prefix(m.cfg.PrefixLen)] = true
			u, uerr := uniqueUUID(taken, m.cfg.PrefixLen, m.cfg.MaxAttempts, m.cfg.NewUUID)
			if uerr != nil {
				return Identity{}, errors.Join(fmt.Errorf("new identity for %s: %w", d.path, uerr), m.undoPending(d, id, create))
			}
			m.log.Info("disk prefix claimed by another disk; trying another", "path", d.path, "prefix", id.UUID.Prefix(m.cfg.PrefixLen))
			id.UUID = u
			continue
		}
		if err != nil {
			return Identity{}, fmt.Errorf("claim prefix %s for %s: %w (the disk stays pending; the next check retries)",
				id.UUID.Prefix(m.cfg.PrefixLen), d.path, err)
		}
		break
	}
	m.step(StepClaimed)
	if err := m.releasePrevious(ctx, id); err != nil {
		return Identity{}, err
	}
	id.ClaimPending, id.Previous = false, ""
	if err := d.writeAtomic(IdentityFile, id.Marshal(), false); err != nil {
		return Identity{}, err
	}
	m.step(StepDone)
	return id, nil
}

// releasePrevious deletes the claim of the identity id replaces.
func (m *Manager) releasePrevious(ctx context.Context, id Identity) error {
	if id.Previous == "" || id.Previous.Prefix(m.cfg.PrefixLen) == id.UUID.Prefix(m.cfg.PrefixLen) {
		return nil
	}
	if err := m.cfg.Claims.Release(ctx, id.Previous.Prefix(m.cfg.PrefixLen), id.Previous); err != nil {
		return fmt.Errorf("release the claim of previous identity %s: %w (the disk stays pending; the next check retries)", id.Previous, err)
	}
	m.step(StepReleased)
	return nil
}

// undoPending takes back a pending identity that could not be claimed
// because no prefix is free: a new disk loses its file, a regenerated one
// gets its previous identity back.
func (m *Manager) undoPending(d *dirHandle, id Identity, created bool) error {
	if created {
		return d.remove(IdentityFile)
	}
	if id.Previous == "" {
		return nil // a damaged identity was being replaced: stay pending
	}
	prev := Identity{Version: FormatVersion, UUID: id.Previous, Name: id.Name, Created: id.Created}
	return d.writeAtomic(IdentityFile, prev.Marshal(), false)
}
