package difftest

import "strings"

// The generator keeps out of the random stream the calls that hang or
// crash a real spdk_tgt v26.05 (see the shared sharp-edges notes). It
// decides from the simulator's state, conservatively: a call that might
// reach one of those paths is not made.

// lookup returns every bdev a name could mean to any of SPDK's lookups:
// a bdev name or alias, an lvol UUID in any case, an lvs/lvol name pair.
func (v *view) lookup(name string) []*bdevView {
	var out []*bdevView
	add := func(b *bdevView) {
		for _, x := range out {
			if x == b {
				return
			}
		}
		out = append(out, b)
	}
	if b, ok := v.bdev(name); ok {
		add(b)
	}
	if b, ok := v.bdev(strings.Replace(name, "@u", "@U", 1)); ok {
		add(b)
	}
	for _, l := range v.lvols {
		if l.Alias == name || l.Lvs.Name+"/"+l.Name == name {
			if b, ok := v.bdev(l.UUID); ok {
				add(b)
			}
		}
	}
	return out
}

// stackedOn returns the bdevs that stand directly on b and go when it
// goes: its lvstore's lvols, its splits, a passthru or raid over it.
func (v *view) stackedOn(b *bdevView) []*bdevView {
	var out []*bdevView
	for i := range v.bdevs {
		x := &v.bdevs[i]
		d := x.Driver
		switch {
		case d.Split != nil && d.Split.BaseBdev == b.Name,
			d.Passthru != nil && d.Passthru.BaseBdevName == b.Name:
			out = append(out, x)
		case d.Raid != nil:
			for _, base := range d.Raid.Bases {
				if base.Name != nil && *base.Name == b.Name {
					out = append(out, x)
				}
			}
		case d.Lvol != nil:
			if s, ok := v.store(d.Lvol.LvsUUID); ok && s.BaseBdev == b.Name {
				out = append(out, x)
			}
		}
	}
	return out
}

// closure is bs and everything stacked on them, transitively.
func (v *view) closure(bs ...*bdevView) []*bdevView {
	seen := map[*bdevView]bool{}
	var out []*bdevView
	var walk func(*bdevView)
	walk = func(b *bdevView) {
		if seen[b] {
			return
		}
		seen[b] = true
		out = append(out, b)
		for _, x := range v.stackedOn(b) {
			walk(x)
		}
	}
	for _, b := range bs {
		walk(b)
	}
	return out
}

// isEsnapParent says whether some lvol reads from b as its external
// snapshot.
func (v *view) isEsnapParent(b *bdevView) bool {
	for _, x := range v.bdevs {
		if l := x.Driver.Lvol; l != nil && l.EsnapClone && l.External == b.UUID {
			return true
		}
	}
	return false
}

// removalSafe says whether removing bs (and what stands on them) cannot
// take an esnap parent away, delete a wedged lvol or the base of a split
// that made no part.
func (v *view) removalSafe(bs ...*bdevView) bool {
	for _, b := range v.closure(bs...) {
		if v.isEsnapParent(b) || v.wedged[b.UUID] || v.emptySplits[b.UUID] {
			return false
		}
	}
	return true
}

// readOnlyLvol says whether b is a read-only lvol, or a split part or
// passthru over one: splitting it kills spdk_tgt.
func (v *view) readOnlyLvol(b *bdevView) bool {
	d := b.Driver
	switch {
	case d.Lvol != nil:
		return d.Lvol.Snapshot || v.readOnly[b.UUID]
	case d.Split != nil:
		x, ok := v.bdev(d.Split.BaseBdev)
		return ok && v.readOnlyLvol(x)
	case d.Passthru != nil:
		x, ok := v.bdev(d.Passthru.BaseBdevName)
		return ok && v.readOnlyLvol(x)
	}
	return false
}

// unwritable says whether metadata writes to b fail: it is a read-only
// lvol, or stands on one (a raid0 or concat through its first base, a
// raid1 through all its members). Clones and deletes in an lvstore on
// such a bdev kill spdk_tgt.
func (v *view) unwritable(b *bdevView) bool {
	d := b.Driver
	if d.Raid == nil {
		return v.readOnlyLvol(b)
	}
	var bases []*bdevView
	for _, x := range d.Raid.Bases {
		if x.Name == nil {
			continue
		}
		if y, ok := v.bdev(*x.Name); ok {
			bases = append(bases, y)
		}
	}
	if len(bases) == 0 {
		return false
	}
	if d.Raid.Level != "raid1" {
		return v.unwritable(bases[0])
	}
	for _, y := range bases {
		if !v.unwritable(y) {
			return false
		}
	}
	return true
}

// inUnwritableStore says whether any lvol name could mean is in an
// lvstore whose base is unwritable.
func (v *view) inUnwritableStore(name string) bool {
	for _, b := range v.lookup(name) {
		if b.Driver.Lvol == nil {
			continue
		}
		if s, ok := v.store(b.Driver.Lvol.LvsUUID); ok {
			if base, ok := v.bdev(s.BaseBdev); ok && v.unwritable(base) {
				return true
			}
		}
	}
	return false
}

// storeBdevs returns the lvol bdevs of the lvstore u.
func (v *view) storeBdevs(u string) []*bdevView {
	var out []*bdevView
	for i := range v.bdevs {
		if l := v.bdevs[i].Driver.Lvol; l != nil && l.LvsUUID == u {
			out = append(out, &v.bdevs[i])
		}
	}
	return out
}

// dependsOn says whether a reads, directly or not, from b: through its
// parent snapshot, its external snapshot, its lvstore's base or the base
// of a stacking module.
func (v *view) dependsOn(a, b *bdevView) bool {
	seen := map[*bdevView]bool{}
	var walk func(*bdevView) bool
	walk = func(x *bdevView) bool {
		if x == b {
			return true
		}
		if seen[x] {
			return false
		}
		seen[x] = true
		for _, y := range v.directDeps(x) {
			if walk(y) {
				return true
			}
		}
		return false
	}
	return walk(a)
}

func (v *view) directDeps(x *bdevView) []*bdevView {
	var names []string
	d := x.Driver
	switch {
	case d.Lvol != nil:
		if s, ok := v.store(d.Lvol.LvsUUID); ok {
			names = append(names, s.BaseBdev)
			if d.Lvol.BaseSnapshot != "" {
				for _, l := range v.lvols {
					if l.Lvs.UUID == s.UUID && l.Name == d.Lvol.BaseSnapshot {
						names = append(names, l.UUID)
					}
				}
			}
		}
		if d.Lvol.External != "" {
			if e, ok := v.bdevByUUID(d.Lvol.External); ok {
				names = append(names, e.Name)
			}
		}
	case d.Split != nil:
		names = append(names, d.Split.BaseBdev)
	case d.Passthru != nil:
		names = append(names, d.Passthru.BaseBdevName)
	case d.Raid != nil:
		for _, b := range d.Raid.Bases {
			if b.Name != nil {
				names = append(names, *b.Name)
			}
		}
	}
	var out []*bdevView
	for _, n := range names {
		if b, ok := v.bdev(n); ok {
			out = append(out, b)
		}
	}
	return out
}

// anyDepends says whether some bdev in as depends on some bdev in bs.
func (v *view) anyDepends(as, bs []*bdevView) bool {
	for _, a := range as {
		for _, b := range bs {
			if v.dependsOn(a, b) {
				return true
			}
		}
	}
	return false
}

// claimedForWrite says whether b is claimed other than as a shared
// external snapshot: an esnap clone of it crashes SPDK at the next open.
func claimedForWrite(b *bdevView) bool {
	return b.Claimed && b.ClaimType != "read_many_write_none"
}
