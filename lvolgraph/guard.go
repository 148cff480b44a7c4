package lvolgraph

import (
	"fmt"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// The guard answers, for one destructive SPDK call, whether the graph lets
// it through. It refuses what would rewrite or destroy a chain another lvol
// needs and the calls that hang or crash SPDK; it never refuses on names
// alone: an unused backing image may be deleted by whoever owns it.

// maxDependents bounds Decision.Dependents; Reason gives the total.
const maxDependents = 32

func allowed(format string, args ...any) Decision {
	return Decision{Allowed: true, Reason: fmt.Sprintf(format, args...)}
}

func refused(rule Rule, deps []*Lvol, format string, args ...any) Decision {
	return Decision{Rule: rule, Reason: fmt.Sprintf(format, args...), Dependents: aliases(deps, maxDependents)}
}

func notFound(what string, ref fmt.Stringer) Decision {
	return Decision{Rule: RuleNotFound, Reason: fmt.Sprintf("%s %s is not in graph; refresh and ask again", what, ref)}
}

// CheckDeleteLvol decides on bdev_lvol_delete. It refuses an lvol that
// anything reads from: a clone of it (even one: SPDK would merge the
// snapshot into that clone and rewrite its chain), an esnap clone of its
// bdev (SPDK hangs, then crashes), or a descendant of those; and any lvol of
// an lvstore whose listings disagree.
func (g *Graph) CheckDeleteLvol(ref Ref) Decision {
	l, ok := g.Lvol(ref)
	if !ok {
		if ref.Kind == RefAlias {
			if ls := g.lvolsByAlias(spdkrpc.LvolAlias(ref.Value)); len(ls) > 1 {
				return refused(RuleGraphAnomaly, ls, "%s names %s of different lvstores; SPDK would delete one of them", ref.Value, count(len(ls), "lvol", "lvols"))
			}
		}
		return notFound("lvol", ref)
	}
	if rule, why, ok := g.trustRule(l.LvstoreUUID); !ok {
		return refused(rule, nil, "%s", why)
	}
	desc := g.Descendants(l)
	if es := g.EsnapClones(lvolBdevUUID(l.UUID)); len(es) > 0 {
		return refused(RuleBackingImage, desc,
			"%s is the external snapshot of %s (%s reading from it in all); deleting it would hang SPDK",
			l.Alias, count(len(es), "lvol", "lvols"), count(len(desc), "lvol", "lvols"))
	}
	if len(desc) > 0 {
		rule := RuleHasDependents
		if DefaultOwnership.BackingImage(l.Name) {
			rule = RuleBackingImage
		}
		return refused(rule, desc, "%s has %s and %s reading from it in all; deleting it would rewrite or break their chains",
			l.Alias, count(len(l.Children), "clone", "clones"), count(len(desc), "lvol", "lvols"))
	}
	return allowed("%s has no dependents", l.Alias)
}

// CheckDeleteLvstore decides on bdev_lvol_delete_lvstore, which SPDK
// carries out even when the lvstore holds lvols, deleting them all.
func (g *Graph) CheckDeleteLvstore(ref Ref) Decision {
	s, ok := g.store(ref)
	if !ok {
		return notFound("lvstore", ref)
	}
	if ls := g.Lvols(s.info.UUID); len(ls) > 0 {
		return refused(RuleLvstoreNotEmpty, ls, "lvstore %s (%s) holds %s, which SPDK would delete with it",
			s.info.Name, s.info.UUID, count(len(ls), "lvol", "lvols"))
	}
	if rule, why, ok := g.trustRule(s.info.UUID); !ok {
		return refused(rule, nil, "%s", why)
	}
	return allowed("lvstore %s (%s) holds no lvols", s.info.Name, s.info.UUID)
}

// CheckDeleteBdev decides on the delete call of any bdev driver (malloc,
// aio, ...). name is looked up as SPDK looks up bdevs: as a bdev name, then
// as an alias (for lvols "lvs/lvol", for malloc bdevs their UUID). It
// refuses an lvstore's base bdev (SPDK destroys the lvstore) and the
// external snapshot of an esnap clone (SPDK hangs, then crashes); an lvol
// bdev is judged by CheckDeleteLvol.
func (g *Graph) CheckDeleteBdev(name spdkrpc.BdevName) Decision {
	if l, ok := g.lvols.get(lvolOfBdevName(name)); ok {
		return g.CheckDeleteLvol(UUIDRef(l.UUID))
	}
	b, ok := g.bdevs.get(name)
	if !ok {
		b, ok = g.bdevByAlias(string(name))
	}
	if !ok {
		if d := g.CheckDeleteLvol(AliasRef(spdkrpc.LvolAlias(name))); !d.Unknown() {
			return d
		}
		return notFound("bdev", ParseRef(string(name)))
	}
	if s, ok := g.LvstoreOnBdev(b.Name); ok {
		return refused(RuleLvstoreBase, g.Lvols(s.UUID), "bdev %s holds lvstore %s (%s); deleting it destroys the lvstore and its lvols",
			b.Name, s.Name, s.UUID)
	}
	if es := g.EsnapClones(b.UUID); len(es) > 0 {
		return refused(RuleBackingImage, es, "bdev %s is the external snapshot of %s; deleting it would hang SPDK",
			b.Name, count(len(es), "lvol", "lvols"))
	}
	if len(g.blind) > 0 {
		return refused(RuleGraphIncomplete, nil, "bdev %s may be the external snapshot of an esnap clone bdev_get_bdevs does not list", b.Name)
	}
	return allowed("bdev %s holds no lvstore and no esnap clone reads from it", b.Name)
}

// bdevByAlias finds a non-lvol bdev by one of its aliases.
func (g *Graph) bdevByAlias(alias string) (*Bdev, bool) {
	if spdkrpc.IsUUID(alias) {
		if b, ok := g.BdevByUUID(spdkrpc.BdevUUID(alias)); ok {
			return b, true
		}
	}
	var found *Bdev
	g.bdevs.each(func(_ spdkrpc.BdevName, b *Bdev) bool {
		for _, a := range b.Aliases {
			if a == alias {
				found = b
				return false
			}
		}
		return true
	})
	return found, found != nil
}
