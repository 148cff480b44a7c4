package agent

import (
	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// neighbours returns what a change to the object named n (an lvol alias or
// UUID, or a bdev name) can change besides n, as the graph knows it now: the
// lvol's bdev name, its parent, its children and its esnap clones.
func neighbours(g *lvolgraph.Graph, n string) []string {
	var out []string
	if l, ok := g.Lvol(lvolgraph.ParseRef(n)); ok {
		out = append(out, string(l.UUID))
		switch {
		case l.Parent.IsLvol():
			out = append(out, string(l.Parent.Lvol))
		case l.Parent.Kind == lvolgraph.ParentExternal:
			out = append(out, string(l.Parent.Bdev))
		}
		for _, c := range l.Children {
			out = append(out, string(c))
		}
		for _, c := range g.EsnapClones(spdkrpc.BdevUUID(l.UUID)) {
			out = append(out, string(c.UUID))
		}
		return out
	}
	if b, ok := g.Bdev(spdkrpc.BdevName(n)); ok {
		for _, c := range g.EsnapClones(b.UUID) {
			out = append(out, string(c.UUID))
		}
	}
	return out
}

// freshNeighbours returns the objects a freshly read bdev names as its
// parent or children, which the graph may not know yet.
func freshNeighbours(g *lvolgraph.Graph, b spdkrpc.Bdev) []string {
	info, ok := b.LvolInfo()
	if !ok {
		return nil
	}
	var out []string
	lvs, ok := g.Lvstore(lvolgraph.UUIDRef(info.LvolStoreUUID))
	if ok {
		if info.BaseSnapshot != "" {
			out = append(out, string(spdkrpc.MakeAlias(lvs.Name, info.BaseSnapshot)))
		}
		for _, c := range info.Clones {
			out = append(out, string(spdkrpc.MakeAlias(lvs.Name, c)))
		}
	}
	if info.ExternalSnapshotName != "" {
		out = append(out, string(info.ExternalSnapshotName))
	}
	return out
}

// knownBdevName returns the bdev name the graph knows n (an lvol alias or
// UUID, a bdev name or a bdev UUID) by.
func knownBdevName(g *lvolgraph.Graph, n string) (spdkrpc.BdevName, bool) {
	if l, ok := g.Lvol(lvolgraph.ParseRef(n)); ok {
		return spdkrpc.BdevName(l.UUID), true
	}
	if _, ok := g.Bdev(spdkrpc.BdevName(n)); ok {
		return spdkrpc.BdevName(n), true
	}
	if b, ok := g.BdevByUUID(spdkrpc.BdevUUID(n)); ok {
		return b.Name, true
	}
	return "", false
}

// lvolEntryFromBdev builds the bdev_lvol_get_lvols entry of an lvol from its
// bdev, so that a targeted refresh reads one small bdev_get_bdevs answer
// instead of the lvstore's whole lvol listing. is_degraded is not in the bdev
// (a degraded lvol has no bdev): false. The next full sync reads the real
// listing.
// lvs is the name of the lvol's lvstore as the graph knows it ("" when it
// does not), so that a '/' in it is not taken for the alias's separator.
func lvolEntryFromBdev(b spdkrpc.Bdev, lvs spdkrpc.LvstoreName) (spdkrpc.Lvol, bool) {
	info, ok := b.LvolInfo()
	if !ok {
		return spdkrpc.Lvol{}, false
	}
	for _, a := range b.Aliases {
		alias := spdkrpc.LvolAlias(a)
		name, ok := alias.NameIn(lvs)
		if !ok {
			lvs, name, ok = alias.Split()
		}
		if !ok {
			continue
		}
		return spdkrpc.Lvol{
			Alias:                alias,
			UUID:                 spdkrpc.LvolUUID(b.Name),
			Name:                 name,
			IsThinProvisioned:    info.ThinProvision,
			IsSnapshot:           info.Snapshot,
			IsClone:              info.Clone,
			IsEsnapClone:         info.EsnapClone,
			NumAllocatedClusters: info.NumAllocatedClusters,
			Lvs:                  spdkrpc.LvstoreRef{Name: lvs, UUID: info.LvolStoreUUID},
		}, true
	}
	return spdkrpc.Lvol{}, false
}
