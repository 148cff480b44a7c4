package spdksim

import "slices"

// Metadata pages. A blob's id is the index of its first md page, taken
// lowest free first; a thick lvol also holds one extent page per 512
// clusters. SPDK compares blob ids across lvstores in a few places
// (bdev_lvol_set_parent opens the parent's id in the lvol's own
// blobstore), so the ids, not only their count, are modelled.

// noPage is no md page: a leaked lvol's, whose pages stay taken.
const noPage = ^uint64(0)

// takePage claims the lowest free md page of s, or reports none left.
func (s *lvstore) takePage() (uint64, bool) {
	for i := range s.mdPages {
		if !s.used[i] {
			s.used[i] = true
			return i, true
		}
	}
	return 0, false
}

func (s *lvstore) freePage(i uint64) { delete(s.used, i) }

// pagesUsed is how many md pages s holds: its super blob, one per lvol
// and the extent pages.
func (s *lvstore) pagesUsed() uint64 { return uint64(len(s.used)) }

// syncExtents makes l hold the extent pages its allocated clusters need,
// claiming the lowest free pages or freeing the last ones. It reports
// false when no md page was left for one.
func (l *lvol) syncExtents() bool {
	want := extentPages(l.allocated)
	for uint64(len(l.extents)) < want {
		p, ok := l.lvs.takePage()
		if !ok {
			return false
		}
		l.extents = append(l.extents, p)
	}
	for uint64(len(l.extents)) > want {
		l.lvs.freePage(l.extents[len(l.extents)-1])
		l.extents = l.extents[:len(l.extents)-1]
	}
	return true
}

// releasePages frees every md page l holds.
func (l *lvol) releasePages() {
	l.lvs.freePage(l.page)
	for _, p := range l.extents {
		l.lvs.freePage(p)
	}
	l.extents = nil
}

// lvolByPage finds the lvol of s whose blob id is page.
func (s *lvstore) lvolByPage(page uint64) (*lvol, bool) {
	for _, l := range s.lvols {
		if l.page == page {
			return l, true
		}
	}
	return nil, false
}

// restorePages rebuilds s's page map from its lvols (a loaded store),
// giving pages to lvols that were saved without one.
func (s *lvstore) restorePages() {
	s.used = map[uint64]bool{0: true}
	for _, l := range s.lvols {
		if l.page != 0 {
			s.used[l.page] = true
		}
		for _, p := range l.extents {
			s.used[p] = true
		}
	}
	for _, l := range s.lvols {
		if l.page == 0 {
			l.page, _ = s.takePage()
		}
		l.syncExtents()
	}
	slices.SortStableFunc(s.lvols, func(a, b *lvol) int { return int(a.page) - int(b.page) })
}
