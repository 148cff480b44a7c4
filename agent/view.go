package agent

import (
	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// LvstoreInfo is an lvstore as the query methods report it.
type LvstoreInfo struct {
	lvolgraph.Lvstore
	Lvols       int  `json:"lvols"`
	Trustworthy bool `json:"trustworthy"`
}

// ParentInfo is what an lvol reads its unwritten clusters from.
type ParentInfo struct {
	Kind  string            `json:"kind"` // "lvol" (a snapshot) or "external"
	UUID  spdkrpc.LvolUUID  `json:"uuid,omitempty"`
	Alias spdkrpc.LvolAlias `json:"alias,omitempty"`
	// Bdev and BdevName name an external parent.
	Bdev     spdkrpc.BdevUUID `json:"bdev,omitempty"`
	BdevName spdkrpc.BdevName `json:"bdev_name,omitempty"`
}

// Protection says why an lvol may not be deleted on its own now.
type Protection struct {
	Rule       string   `json:"rule"`
	Reason     string   `json:"reason"`
	Dependents []string `json:"dependents,omitempty"`
}

// LvolInfo is an lvol as the query methods report it.
type LvolInfo struct {
	UUID         spdkrpc.LvolUUID    `json:"uuid"`
	Alias        spdkrpc.LvolAlias   `json:"alias"`
	Name         spdkrpc.LvolName    `json:"name"`
	Lvstore      spdkrpc.LvstoreUUID `json:"lvstore"`
	Size         uint64              `json:"size"`
	Allocated    uint64              `json:"allocated"`
	Thin         bool                `json:"thin"`
	Snapshot     bool                `json:"snapshot"`
	Clone        bool                `json:"clone"`
	EsnapClone   bool                `json:"esnap_clone"`
	Degraded     bool                `json:"degraded"`
	Parent       *ParentInfo         `json:"parent,omitempty"`
	Children     []spdkrpc.LvolUUID  `json:"children,omitempty"`
	EsnapClones  []spdkrpc.LvolUUID  `json:"esnap_clones,omitempty"`
	BackingImage bool                `json:"backing_image"`
	// Orphan: no replica owns it any more (lvolgraph.Graph.Orphans).
	Orphan    bool        `json:"orphan"`
	Protected *Protection `json:"protected,omitempty"`
}

func lvstoreInfos(g *lvolgraph.Graph, only *lvolgraph.Lvstore) []LvstoreInfo {
	out := []LvstoreInfo{}
	for _, l := range g.Lvstores() {
		if only != nil && l.UUID != only.UUID {
			continue
		}
		out = append(out, LvstoreInfo{Lvstore: *l, Lvols: len(g.Lvols(l.UUID)), Trustworthy: g.Trustworthy(l.UUID)})
	}
	return out
}

func lvolInfos(g *lvolgraph.Graph, only *lvolgraph.Lvstore) []LvolInfo {
	out := []LvolInfo{}
	for _, s := range g.Lvstores() {
		if only != nil && s.UUID != only.UUID {
			continue
		}
		for _, l := range g.Lvols(s.UUID) {
			out = append(out, lvolInfo(g, l))
		}
	}
	return out
}

// lvolInfo describes l, with whether the guard would let it be deleted.
func lvolInfo(g *lvolgraph.Graph, l *lvolgraph.Lvol) LvolInfo {
	info := LvolInfo{
		UUID: l.UUID, Alias: l.Alias, Name: l.Name, Lvstore: l.LvstoreUUID,
		Size: l.Size, Allocated: l.Allocated, Thin: l.Thin, Snapshot: l.Snapshot,
		Clone: l.Clone, EsnapClone: l.EsnapClone, Degraded: l.Degraded,
		Children: l.Children, Orphan: g.IsOrphan(l, lvolgraph.DefaultOwnership),
	}
	switch l.Parent.Kind {
	case lvolgraph.ParentLvol:
		info.Parent = &ParentInfo{Kind: "lvol", UUID: l.Parent.Lvol}
	case lvolgraph.ParentExternal:
		info.Parent = &ParentInfo{Kind: "external", UUID: l.Parent.Lvol, Bdev: l.Parent.Bdev}
		if b, ok := g.BdevByUUID(l.Parent.Bdev); ok {
			info.Parent.BdevName = b.Name
		}
	}
	if info.Parent != nil && info.Parent.UUID != "" {
		if p, ok := g.Lvol(lvolgraph.UUIDRef(info.Parent.UUID)); ok {
			info.Parent.Alias = p.Alias
		}
	}
	for _, c := range g.EsnapClones(spdkrpc.BdevUUID(l.UUID)) {
		info.EsnapClones = append(info.EsnapClones, c.UUID)
	}
	d := g.CheckDeleteLvol(lvolgraph.UUIDRef(l.UUID))
	if !d.Allowed && !d.Unknown() {
		info.Protected = &Protection{Rule: string(d.Rule), Reason: d.Reason}
		for _, a := range d.Dependents {
			info.Protected.Dependents = append(info.Protected.Dependents, string(a))
		}
		info.BackingImage = d.Rule == lvolgraph.RuleBackingImage
	}
	if len(info.EsnapClones) > 0 || lvolgraph.DefaultOwnership.BackingImage(l.Name) {
		info.BackingImage = true
	}
	return info
}
