package guard

import "strings"

// SPDK's blobstore keeps one metadata page per blob plus extent pages for
// allocated clusters, out of a fixed number set when the lvstore was made:
// num_md_pages_per_cluster_ratio (100 unless given) pages per hundred
// clusters of the base. Out of them, creates and snapshots fail cleanly
// but a clone crashes spdk_tgt v26.05. SPDK reports neither the ratio nor
// the pages, so the guard estimates them.

// DefaultMetadataRatio is SPDK's num_md_pages_per_cluster_ratio default.
const DefaultMetadataRatio = 100

// extentPageClusters is how many clusters one extent page maps.
const extentPageClusters = 512

// metadataShort reports whether one more blob may not fit in lvstore st:
// its pages, estimated with ratio (the lvstore's, when the agent saw it
// made, else SPDK's default), are all used. A store already holding more
// than the estimate has more pages than assumed, so nothing is claimed.
func (s *State) metadataShort(st *Lvstore, ratio uint64) bool {
	base, ok := s.BdevByName(st.BaseBdev)
	if !ok || st.ClusterSize == 0 {
		return false
	}
	pages := base.Size() / st.ClusterSize * ratio / 100
	used := uint64(1) // the super blob
	for _, l := range s.LvolsIn(st) {
		used += 1 + (l.Allocated+extentPageClusters-1)/extentPageClusters
	}
	return used <= pages && used+1 > pages
}

// metadataCheck refuses a clone into lvstore st when its metadata pages
// may be used up.
func (c *call) metadataCheck(st *Lvstore) (Decision, bool) {
	ratio := uint64(DefaultMetadataRatio)
	if c.env.MetadataRatio != nil {
		if r, ok := c.env.MetadataRatio(strings.ToLower(st.UUID)); ok {
			ratio = r
		}
	}
	full := c.env.MetadataFull != nil && c.env.MetadataFull(strings.ToLower(st.UUID))
	if !full && !c.s.metadataShort(st, ratio) {
		return Decision{}, false
	}
	return c.deny(RuleSharpEdge, "lvstore %s may have no metadata page left (a create there failed for want of memory, or its lvols use all the pages its size gives at ratio %d), and spdk_tgt v26.05 crashes making a clone in such an lvstore; delete an lvol there first", st.Name, ratio), true
}
