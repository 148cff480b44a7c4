package guard

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// The checks of the graph-changing methods. Each resolves its object
// parameters exactly as the method does in SPDK v26.05, refuses what would
// break something the call does not name, and rewrites the parameters to
// name each resolved object canonically (an lvol by its UUID, a bdev by its
// name), so that SPDK acts on the object that was judged. A parameter that
// resolves to nothing is forwarded as read: SPDK answers its own "No such
// device".

// lvolOf returns the lvol an object is, if it is one.
func (s *State) lvolOf(o Obj) (*Lvol, bool) {
	id, ok := strings.CutPrefix(string(o), "lvol:")
	if !ok {
		return nil, false
	}
	l, ok := s.lvols[id]
	return l, ok
}

// removal decides on a call that removes targets from SPDK (and with them,
// SPDK would hot-remove whatever stands on them). It is refused when
// anything outside targets stands on one of them.
func (c *call) removal(verb string, targets ...Obj) Decision {
	if d, bad := c.uncertain(targets...); bad {
		return d
	}
	in := map[Obj]bool{}
	for _, t := range targets {
		in[t] = true
	}
	var blockers []Obj
	rule := ""
	for _, t := range targets {
		if l, ok := c.s.lvolOf(t); ok {
			if l.bdev == nil {
				return c.deny(RuleDegraded, "%s is degraded (it has no bdev, its parent is gone); SPDK may crash deleting it", c.s.Describe(t))
			}
			if d, bad := c.untrusted(l, "removed"); bad {
				return d
			}
		}
		for _, d := range c.s.DirectDependents(t) {
			if !in[d] {
				blockers = append(blockers, d)
				rule = stronger(rule, c.ruleFor(t, d))
			}
		}
	}
	if len(blockers) == 0 {
		return c.allow(targets...)
	}
	all := map[Obj]bool{}
	for _, b := range blockers {
		all[b] = true
		for _, d := range c.s.Dependents(b) {
			all[d] = true
		}
	}
	var deps []Obj
	for o := range all {
		if !in[o] {
			deps = append(deps, o)
		}
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i] < deps[j] })
	names := make([]string, 0, len(targets))
	for _, t := range targets {
		names = append(names, c.s.Describe(t))
	}
	d := c.denyDeps(rule, deps, "%s %s would take away what %d other %s on", verb, strings.Join(names, ", "), len(deps), plural(len(deps), "object stands", "objects stand"))
	d.Blockers = blockers
	d.Touched = targets
	return d
}

// untrusted refuses to act on an lvol of an lvstore whose listings cannot
// be trusted: they disagree, or a degraded lvol's links are unknown. Only
// that lvstore is affected.
func (c *call) untrusted(l *Lvol, what string) (Decision, bool) {
	if is := c.s.Issues(l.Lvs.UUID); len(is) > 0 {
		return c.deny(RuleAnomaly, "the listings of lvstore %s disagree (%s); nothing in it is %s until they agree", l.Lvs.Name, strings.Join(is, "; "), what), true
	}
	if dg := c.s.Degraded(l.Lvs.UUID); len(dg) > 0 {
		return c.deny(RuleIncomplete, "lvstore %s holds degraded %s (%s), whose links SPDK does not list; nothing in it is %s until %s", l.Lvs.Name,
			plural(len(dg), "lvol", "lvols"), strings.Join(dg, ", "), what, plural(len(dg), "it is whole again", "they are whole again")), true
	}
	return Decision{}, false
}

// ruleFor names why dependent d keeps t: an lvstore on it, an esnap clone
// reading it (SPDK hangs deleting it), or any other dependent.
func (c *call) ruleFor(t, d Obj) string {
	if strings.HasPrefix(string(d), "lvs:") {
		return RuleLvstoreBase
	}
	if l, ok := c.s.lvolOf(d); ok && l.bdev != nil && l.bdev.lvol.EsnapClone {
		return RuleBackingImage
	}
	if l, ok := c.s.lvolOf(t); ok && lvolgraph.DefaultOwnership.BackingImage(lvolName(l)) {
		return RuleBackingImage
	}
	return RuleHasDependents
}

func lvolName(l *Lvol) spdkrpc.LvolName { return spdkrpc.LvolName(l.Name) }

// stronger returns the rule that says more about the danger.
func stronger(a, b string) string {
	rank := map[string]int{"": 0, RuleHasDependents: 1, RuleLvstoreBase: 2, RuleBackingImage: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// checkDeleteLvol: bdev_lvol_delete {name}.
func checkDeleteLvol(c *call) Decision {
	name, stop := c.param("name")
	if stop != nil {
		return *stop
	}
	l, found := c.s.LvolForDelete(name)
	if !found {
		return c.allow()
	}
	c.p = c.p.With("name", strings.ToLower(l.UUID))
	d := c.removal("deleting", lvolObj(l.UUID))
	d.Lvstore = strings.ToLower(l.Lvs.UUID)
	return d
}

// param reads the string member key that names the call's target. A
// non-nil stop is the decision to return at once: the refusal of a member
// SPDK would read otherwise, or, when the member is absent, letting SPDK
// answer the params it rejects.
func (c *call) param(key string) (name string, stop *Decision) {
	name, ok, bad := c.str(key)
	if bad != nil {
		return "", bad
	}
	if !ok {
		d := c.allow()
		return "", &d
	}
	c.target = name
	return name, nil
}

// checkDeleteLvstore: bdev_lvol_delete_lvstore {uuid | lvs_name}.
func checkDeleteLvstore(c *call) Decision {
	u, hasU, bad := c.str("uuid")
	if bad != nil {
		return *bad
	}
	n, hasN, bad := c.str("lvs_name")
	if bad != nil {
		return *bad
	}
	if hasU == hasN {
		return c.allow() // SPDK wants exactly one
	}
	var st *Lvstore
	var found bool
	if hasU {
		c.target = u
		st, found = c.s.LvstoreByUUID(u)
	} else {
		c.target = n
		st, found = c.s.LvstoreByName(n)
	}
	if !found {
		return c.allow()
	}
	c.p = c.p.Without("lvs_name").With("uuid", strings.ToLower(st.UUID))
	if ls := c.s.LvolsIn(st); len(ls) > 0 {
		objs := make([]Obj, len(ls))
		for i, l := range ls {
			objs[i] = lvolObj(l.UUID)
		}
		d := c.denyDeps(RuleLvstoreEmpty, objs, "lvstore %s (%s) holds %d %s, which SPDK would delete with it", st.Name, st.UUID, len(ls), plural(len(ls), "lvol", "lvols"))
		d.Blockers = objs
		d.Touched = []Obj{storeObj(st.UUID)}
		return d
	}
	d := c.removal("deleting", storeObj(st.UUID))
	if d.Allowed {
		d.DeletesLvstore = strings.ToLower(st.UUID)
	}
	return d
}

// checkDeleteBdev returns the check of a module's delete whose bdev is
// named by key (bdev_malloc_delete {name}, bdev_opal_delete {bdev_name}).
func checkDeleteBdev(key string) func(c *call) Decision {
	return func(c *call) Decision {
		name, stop := c.param(key)
		if stop != nil {
			return *stop
		}
		b, found := c.s.BdevByName(name)
		if !found {
			return c.allow()
		}
		c.p = c.p.With(key, b.Name)
		return c.removal("removing", c.s.objOf(b))
	}
}

// checkSplitDelete: bdev_split_delete {base_bdev} removes every split of
// the base. SPDK matches the name given at creation; the guard takes every
// split whose base is that string or the bdev it names.
func checkSplitDelete(c *call) Decision {
	base, stop := c.param("base_bdev")
	if stop != nil {
		return *stop
	}
	named, _ := c.s.BdevByName(base)
	var parts []Obj
	for _, b := range c.s.bdevs {
		raw, isSplit := b.Driver["split"]
		if !isSplit {
			continue
		}
		for _, bb := range baseNames(raw) {
			if p, ok := c.s.BdevByName(bb); bb == base || ok && p == named {
				parts = append(parts, c.s.objOf(b))
				break
			}
		}
	}
	if len(parts) == 0 {
		return c.allow()
	}
	return c.removal("removing the splits", parts...)
}

// checkControllerBdevs returns the check of a call that removes (or stops
// the I/O of) every namespace bdev of the NVMe controller named by key;
// SPDK names them <controller>n<nsid>.
func checkControllerBdevs(key, verb string) func(c *call) Decision {
	return func(c *call) Decision {
		name, stop := c.param(key)
		if stop != nil {
			return *stop
		}
		var ns []Obj
		for _, b := range c.s.bdevs {
			nsid, ok := strings.CutPrefix(b.Name, name+"n")
			if ok && nsid != "" && strings.Trim(nsid, "0123456789") == "" {
				ns = append(ns, c.s.objOf(b))
			}
		}
		if len(ns) == 0 {
			return c.allow()
		}
		return c.removal(verb, ns...)
	}
}

// checkAllNVMe: calls that detach controllers the guard cannot map to
// bdevs (stopping a discovery service detaches all it attached): every
// NVMe bdev counts as removed.
func checkAllNVMe(c *call) Decision {
	var ns []Obj
	for _, b := range c.s.bdevs {
		if _, ok := b.Driver["nvme"]; ok {
			ns = append(ns, c.s.objOf(b))
		}
	}
	if len(ns) == 0 {
		return c.allow()
	}
	return c.removal("detaching the NVMe bdevs", ns...)
}

// checkRaidRemoveBase: bdev_raid_remove_base_bdev {name}. A raid that
// keeps enough members stays; one that does not goes offline, and what
// stands on it goes with it.
func checkRaidRemoveBase(c *call) Decision {
	name, stop := c.param("name")
	if stop != nil {
		return *stop
	}
	m, found := c.s.BdevByName(name)
	if !found {
		return c.allow()
	}
	c.p = c.p.With("name", m.Name)
	for _, r := range c.s.bdevs {
		if r.raid == nil || !isMember(r, m) {
			continue
		}
		if d, bad := c.uncertain(c.s.objOf(m), c.s.objOf(r)); bad {
			return d
		}
		if r.raid.Operational-1 >= minOperational(r.raid) {
			return c.allow(c.s.objOf(m), c.s.objOf(r))
		}
		d := c.removal("taking raid "+r.Name+" offline by removing", c.s.objOf(r))
		d.Touched = append(d.Touched, c.s.objOf(m))
		return d
	}
	return c.allow()
}

func isMember(r, m *Bdev) bool {
	for _, mem := range r.raid.Members {
		if mem.Name != nil && *mem.Name == m.Name || mem.UUID != "" && strings.EqualFold(mem.UUID, m.UUID) {
			return true
		}
	}
	return false
}

// minOperational is how many members a raid level needs to stay online.
func minOperational(r *raidDriver) int {
	n := len(r.Members)
	switch r.Level {
	case "raid1":
		return 1
	case "raid5f":
		return n - 1
	}
	return n // raid0, concat and levels the guard does not know
}

// claimedParent explains why bdev p must not become an external snapshot:
// it is claimed by something other than esnap clones (an lvstore's base, a
// split's or raid's member, ...). SPDK accepts it and crashes at the next
// reopen. Esnap clones share their parent (read_many_write_none), so a
// backing image may have any number of them.
func (c *call) claimedParent(p *Bdev) (Decision, bool) {
	if !p.Claimed || p.ClaimType == "read_many_write_none" {
		return Decision{}, false
	}
	deps := c.s.DirectDependents(c.s.objOf(p))
	return c.denyDeps(RuleClaimedParent, deps, "bdev %s is claimed (%s); SPDK would accept it as an external snapshot and crash at the next reopen", p.Name, p.ClaimType), true
}

// checkCloneBdev: bdev_lvol_clone_bdev {bdev, lvs_name, clone_name}.
func checkCloneBdev(c *call) Decision {
	name, stop := c.param("bdev")
	if stop != nil {
		return *stop
	}
	p, found := c.s.BdevByName(name)
	if !found {
		return c.allow()
	}
	c.p = c.p.With("bdev", p.Name)
	if d, bad := c.uncertain(c.s.objOf(p)); bad {
		return d
	}
	if d, bad := c.claimedParent(p); bad {
		return d
	}
	touched := []Obj{c.s.objOf(p)}
	store := ""
	if n, ok, _ := c.p.String("lvs_name"); ok {
		if st, ok := c.s.LvstoreByName(n); ok {
			touched = append(touched, storeObj(st.UUID))
			store = strings.ToLower(st.UUID)
		}
	}
	if st, ok := c.s.LvstoreByUUID(store); ok {
		if d, bad := c.metadataCheck(st); bad {
			return d
		}
	}
	d := c.allow(touched...)
	d.Lvstore = store
	return d
}

// checkRewrite returns the check of a call that changes the parent of the
// lvol named by key: set_parent, set_parent_bdev (parentKey set),
// decouple_parent and inflate. Every lvol reading from the lvol would see
// its chain (and for set_parent its data) change, so it must have none;
// and a new parent must not read from the lvol (a cycle: SPDK spins or
// crashes at the next listing).
func checkRewrite(key, parentKey string, bdevParent bool) func(c *call) Decision {
	return func(c *call) Decision {
		name, stop := c.param(key)
		if stop != nil {
			return *stop
		}
		l, found := c.s.LvolByBdevName(name)
		if !found {
			return c.allow()
		}
		self := lvolObj(l.UUID)
		c.p = c.p.With(key, strings.ToLower(l.UUID))
		touched := []Obj{self}
		if parentKey != "" {
			pn, ok, bad := c.str(parentKey)
			if bad != nil {
				return *bad
			}
			if ok {
				var p *Bdev
				var pfound bool
				if bdevParent {
					p, pfound = c.s.BdevByName(pn)
				} else if pl, ok := c.s.LvolByBdevName(pn); ok {
					p, pfound = pl.bdev, true
				}
				if pfound && !bdevParent && p.lvol != nil && !strings.EqualFold(p.lvol.Store, l.Lvs.UUID) {
					// SPDK looks the parent up by its blob id in the lvol's
					// own blobstore: another lvstore's snapshot names some
					// other blob there, or none.
					return c.deny(RuleSharpEdge, "%s is in another lvstore than %s; SPDK would look for its blob id among %s's own blobs and may re-parent onto another snapshot", pn, name, l.Lvs.Name)
				}
				if pfound {
					po := c.s.objOf(p)
					c.p = c.p.With(parentKey, p.Name)
					if po == self || contains(c.s.Dependents(self), po) {
						return c.deny(RuleCycle, "%s reads from %s; making it the parent would close a cycle, which SPDK spins or crashes on", pn, name)
					}
					if bdevParent {
						if d, bad := c.claimedParent(p); bad {
							return d
						}
					}
					touched = append(touched, po)
				}
			}
		}
		if d, bad := c.uncertain(touched...); bad {
			return d
		}
		if d, bad := c.untrusted(l, "rewritten"); bad {
			return d
		}
		if deps := c.s.Dependents(self); len(deps) > 0 {
			return c.denyDeps(RuleChainRewrite, deps, "%d other %s read from %s; %s would change their chains", len(deps), plural(len(deps), "object", "objects"), c.s.Describe(self), c.method)
		}
		return c.allow(touched...)
	}
}

func contains(os []Obj, o Obj) bool {
	for _, x := range os {
		if x == o {
			return true
		}
	}
	return false
}

// checkShrink returns the check of a resize of the bdev named by key to
// the size in MiB under sizeKey (bdev_lvol_resize, bdev_null_resize). A
// shrink of a bdev something stands on is refused: SPDK frees the clusters
// and then answers "busy".
func checkShrink(key, sizeKey string, lvolOnly bool) func(c *call) Decision {
	return func(c *call) Decision {
		name, stop := c.param(key)
		if stop != nil {
			return *stop
		}
		var b *Bdev
		var found bool
		if lvolOnly {
			if l, ok := c.s.LvolByBdevName(name); ok {
				b, found = l.bdev, true
			}
		} else {
			b, found = c.s.BdevByName(name)
		}
		if !found {
			return c.allow()
		}
		o := c.s.objOf(b)
		c.p = c.p.With(key, b.Name)
		if d, bad := c.uncertain(o); bad {
			return d
		}
		mib, ok, err := c.p.Uint(sizeKey)
		if !ok {
			return c.allow(o) // SPDK rejects the params
		}
		if err != nil {
			return c.deny(RuleInvalidParams, "%v", err)
		}
		if mib<<20 >= b.Size() {
			return c.allow(o)
		}
		if deps := c.s.Dependents(o); len(deps) > 0 {
			return c.denyDeps(RuleShrink, deps, "shrinking %s from %d to %d MiB would cut what %d other %s read", c.s.Describe(o), b.Size()>>20, mib, len(deps), plural(len(deps), "object", "objects"))
		}
		return c.allow(o)
	}
}

// checkShallowCopy: bdev_lvol_start_shallow_copy {src_lvol_name,
// dst_bdev_name} writes the lvol's clusters over the destination, which
// nothing may stand on (and which must not be what the source reads).
func checkShallowCopy(c *call) Decision {
	dn, stop := c.param("dst_bdev_name")
	if stop != nil {
		return *stop
	}
	var touched []Obj
	var src Obj
	if sn, ok, bad := c.str("src_lvol_name"); bad != nil {
		return *bad
	} else if l, found := c.s.LvolByBdevName(sn); ok && found {
		src = lvolObj(l.UUID)
		c.p = c.p.With("src_lvol_name", strings.ToLower(l.UUID))
		touched = append(touched, src)
	}
	d, found := c.s.BdevByName(dn)
	if !found {
		return c.allow(touched...)
	}
	o := c.s.objOf(d)
	c.p = c.p.With("dst_bdev_name", d.Name)
	touched = append(touched, o)
	if dec, bad := c.uncertain(touched...); bad {
		return dec
	}
	if o == src {
		return c.deny(RuleCopyOntoUsed, "the destination is the source lvol itself")
	}
	deps := c.s.Dependents(o)
	if len(deps) > 0 || d.Claimed {
		return c.denyDeps(RuleCopyOntoUsed, deps, "bdev %s is in use (claimed: %v); a shallow copy would overwrite what stands on it", d.Name, d.Claimed)
	}
	return c.allow(touched...)
}

// checkRenameLvol: bdev_lvol_rename {old_name, new_name}. SPDK changes the
// bdev alias before it checks that the lvol is writable, so a rename of a
// snapshot (or of an lvol set read-only) is half done; and it cuts names
// over the limit silently, possibly inside a character.
func checkRenameLvol(c *call) Decision {
	old, stop := c.param("old_name")
	if stop != nil {
		return *stop
	}
	nn, _, bad := c.str("new_name")
	if bad != nil {
		return *bad
	}
	if d, bad := c.nameTooLong(nn); bad {
		return d
	}
	l, found := c.s.LvolByBdevName(old)
	if !found {
		return c.allow()
	}
	o := lvolObj(l.UUID)
	c.p = c.p.With("old_name", strings.ToLower(l.UUID))
	if d, bad := c.uncertain(o); bad {
		return d
	}
	if l.Snapshot {
		return c.deny(RuleRenameReadOnly, "it is a snapshot, which is read-only: SPDK would change the bdev alias and then fail, leaving the rename half done")
	}
	if c.env.ReadOnly != nil && c.env.ReadOnly(strings.ToLower(l.UUID)) {
		return c.deny(RuleRenameReadOnly, "it was set read-only: SPDK would change the bdev alias and then fail, leaving the rename half done")
	}
	d := c.allow(o)
	undo, _ := json.Marshal(map[string]string{"old_name": strings.ToLower(l.UUID), "new_name": l.Name})
	d.Undo = &Call{Method: "bdev_lvol_rename", Params: undo}
	return d
}

// nameTooLong refuses a new name over SPDK's limit, which renames do not
// check: SPDK cuts it silently, possibly inside a character.
func (c *call) nameTooLong(name string) (Decision, bool) {
	if len(name) <= c.env.MaxNameBytes {
		return Decision{}, false
	}
	return c.deny(RuleNameTooLong, "the new name is %d bytes; SPDK allows %d and a rename would cut it silently", len(name), c.env.MaxNameBytes), true
}

// checkRenameLvstore: bdev_lvol_rename_lvstore {old_name, new_name}.
func checkRenameLvstore(c *call) Decision {
	old, _, bad := c.str("old_name")
	if bad != nil {
		return *bad
	}
	c.target = old
	nn, _, bad := c.str("new_name")
	if bad != nil {
		return *bad
	}
	if d, bad := c.nameTooLong(nn); bad {
		return d
	}
	if c.s != nil {
		if st, ok := c.s.LvstoreByName(old); ok {
			if d, bad := c.uncertain(storeObj(st.UUID)); bad {
				return d
			}
			return c.allow(storeObj(st.UUID))
		}
	}
	return c.allow()
}

// checkSetReadOnly: bdev_lvol_set_read_only {name}; the agent remembers
// the lvol, since SPDK lists read-only nowhere.
func checkSetReadOnly(c *call) Decision {
	name, stop := c.param("name")
	if stop != nil {
		return *stop
	}
	if c.s == nil {
		return c.allow()
	}
	l, found := c.s.LvolByBdevName(name)
	if !found {
		return c.allow()
	}
	c.p = c.p.With("name", strings.ToLower(l.UUID))
	d := c.allow(lvolObj(l.UUID))
	d.ReadOnly = strings.ToLower(l.UUID)
	return d
}

// touchKey names an object parameter of a creating call, so that it is
// checked for uncertainty and marked when the call does not answer.
type touchKey struct {
	key  string
	kind touchKind
}

type touchKind int

const (
	touchBdev touchKind = iota + 1
	touchLvol           // a bdev that is an lvol: its lvstore is the call's
	touchStoreName
	touchStoreUUID
)

// checkCreate returns the check of a call that only adds objects (or
// makes something depend on an existing one). It needs no fresh read; it
// is serialized with every other graph-changing call, so that a clone
// never lands between the check and the forward of a delete.
func checkCreate(keys ...touchKey) func(c *call) Decision {
	return func(c *call) Decision {
		var touched []Obj
		store := ""
		for _, k := range keys {
			v, ok, bad := c.str(k.key)
			if bad != nil {
				return *bad
			}
			if !ok || c.s == nil {
				continue
			}
			var st *Lvstore
			switch k.kind {
			case touchBdev, touchLvol:
				if b, ok := c.s.BdevByName(v); ok {
					touched = append(touched, c.s.objOf(b))
					if l, ok := c.s.LvolOfBdev(b); ok && k.kind == touchLvol {
						st, _ = c.s.LvstoreByUUID(l.Lvs.UUID)
					}
				}
			case touchStoreName:
				st, _ = c.s.LvstoreByName(v)
			case touchStoreUUID:
				st, _ = c.s.LvstoreByUUID(v)
			}
			if st != nil {
				touched = append(touched, storeObj(st.UUID))
				if store == "" {
					store = strings.ToLower(st.UUID)
				}
			}
		}
		if d, bad := c.uncertain(touched...); bad {
			return d
		}
		if store != "" && c.method == "bdev_lvol_clone" {
			st, _ := c.s.LvstoreByUUID(store)
			if d, bad := c.metadataCheck(st); bad {
				return d
			}
		}
		d := c.allow(touched...)
		d.Lvstore = store
		return d
	}
}

// checkSplitCreate: bdev_split_create {base_bdev, ...}. SPDK v26.05 dies
// when the base is named by an alias (an lvol's lvs/name, a malloc's
// UUID) rather than by its name; the split bdevs' names derive from the
// string given, so the guard asks for the name rather than rewrite it.
func checkSplitCreate(c *call) Decision {
	base, stop := c.param("base_bdev")
	if stop != nil {
		return *stop
	}
	b, found := c.s.BdevByName(base)
	if !found {
		return c.allow()
	}
	if b.Name != base {
		return c.deny(RuleSharpEdge, "%s is an alias of bdev %s, and spdk_tgt v26.05 crashes splitting a bdev named by an alias; name it %s", base, b.Name, b.Name)
	}
	if d, bad := c.uncertain(c.s.objOf(b)); bad {
		return d
	}
	d := c.allow(c.s.objOf(b))
	d.HeldOnEmpty = []Obj{c.s.objOf(b)}
	return d
}

// checkCreateLvstore: bdev_lvol_create_lvstore {bdev_name, ...}. On a
// read-only lvol (every snapshot) SPDK fails with "Input/output error" and
// keeps the lvol held: deleting it, its lvstore or what that stands on
// then never answers. The guard refuses it where it can tell, and asks the
// agent to treat the lvol as uncertain when it cannot (read-only set
// straight on SPDK) and SPDK fails so.
func checkCreateLvstore(c *call) Decision {
	name, stop := c.param("bdev_name")
	if stop != nil {
		return *stop
	}
	b, found := c.s.BdevByName(name)
	if !found {
		return c.allow()
	}
	o := c.s.objOf(b)
	if d, bad := c.uncertain(o); bad {
		return d
	}
	if l, ok := c.s.LvolOfBdev(b); ok {
		if l.Snapshot || c.env.ReadOnly != nil && c.env.ReadOnly(strings.ToLower(l.UUID)) {
			return c.deny(RuleSharpEdge, "%s is read-only; SPDK fails an lvstore on it and keeps it held, so that deleting it, its lvstore or what that stands on never answers", c.s.Describe(o))
		}
		d := c.allow(o)
		d.HeldOnEIO = []Obj{o}
		return d
	}
	return c.allow(o)
}
