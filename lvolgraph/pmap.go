package lvolgraph

import (
	"encoding/binary"
	"maps"
	"math/bits"
)

// A persistent map: keys are spread over a fixed number of shards by hash, and
// a new version of the map copies the top array plus only the shards it
// changes. At 100k entries a change copies one shard of about 400 entries,
// which is what makes Graph.Update cheap while every version stays immutable.

const shardCount = 1 << 8

// shardOf spreads keys over shards. It only has to be stable within the
// process and cheap: it reads three 8-byte words (the start and the last 16
// bytes, where UUIDs and replica names vary) and mixes them, which costs a
// fraction of a general string hash on 36-byte UUIDs.
func shardOf[K ~string](k K) int {
	s := string(k)
	var h uint64
	if len(s) >= 16 {
		h = word(s[:8]) ^ bits.RotateLeft64(word(s[len(s)-16:]), 21) ^ bits.RotateLeft64(word(s[len(s)-8:]), 42)
	} else {
		for i := 0; i < len(s); i++ {
			h = h<<8 | h>>56 ^ uint64(s[i])
		}
	}
	h ^= uint64(len(s))
	h *= 0x9e3779b97f4a7c15
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	return int(h >> (64 - 8))
}

func word(s string) uint64 { return binary.LittleEndian.Uint64([]byte(s[:8])) }

type shard[K ~string, V any] struct{ m map[K]V }

// pmap is an immutable map value; the zero pmap is empty.
type pmap[K ~string, V any] struct {
	shards *[shardCount]*shard[K, V]
	n      int
}

func (m pmap[K, V]) get(k K) (V, bool) {
	var zero V
	if m.shards == nil {
		return zero, false
	}
	s := m.shards[shardOf(k)]
	if s == nil {
		return zero, false
	}
	v, ok := s.m[k]
	return v, ok
}

func (m pmap[K, V]) len() int { return m.n }

// each calls f for every entry, in no particular order, until f returns false.
func (m pmap[K, V]) each(f func(K, V) bool) {
	if m.shards == nil {
		return
	}
	for _, s := range m.shards {
		if s == nil {
			continue
		}
		for k, v := range s.m {
			if !f(k, v) {
				return
			}
		}
	}
}

// pedit is a working copy of a pmap. Shards it has copied (or created) are
// its own and are changed in place; the others still belong to the source.
type pedit[K ~string, V any] struct {
	m        pmap[K, V]
	topOwned bool
	owned    [shardCount / 64]uint64
	hint     int // expected entries per new shard
}

func editOf[K ~string, V any](m pmap[K, V]) pedit[K, V] { return pedit[K, V]{m: m} }

func (e *pedit[K, V]) get(k K) (V, bool) { return e.m.get(k) }

func (e *pedit[K, V]) each(f func(K, V) bool) { e.m.each(f) }

// reserve sizes the shards created from now on for about n entries in all.
func (e *pedit[K, V]) reserve(n int) { e.hint = n/shardCount + n/(16*shardCount) }

func (e *pedit[K, V]) shardFor(k K) map[K]V {
	if !e.topOwned {
		top := new([shardCount]*shard[K, V])
		if e.m.shards != nil {
			*top = *e.m.shards
		}
		e.m.shards = top
		e.topOwned = true
	}
	i := shardOf(k)
	word, bit := i/64, uint64(1)<<(i%64)
	if e.owned[word]&bit == 0 {
		var m map[K]V
		if old := e.m.shards[i]; old != nil {
			m = maps.Clone(old.m)
		}
		if m == nil {
			m = make(map[K]V, e.hint)
		}
		e.m.shards[i] = &shard[K, V]{m: m}
		e.owned[word] |= bit
	}
	return e.m.shards[i].m
}

func (e *pedit[K, V]) set(k K, v V) {
	s := e.shardFor(k)
	if _, had := s[k]; !had {
		e.m.n++
	}
	s[k] = v
}

func (e *pedit[K, V]) del(k K) {
	if _, ok := e.m.get(k); !ok {
		return
	}
	delete(e.shardFor(k), k)
	e.m.n--
}

// done returns the edited map. The editor must not be used afterwards.
func (e *pedit[K, V]) done() pmap[K, V] { return e.m }

// sameShard reports whether shard i of a and b is the very same memory, so a
// walk over two versions can skip what an update did not touch.
func sameShard[K ~string, V any](a, b pmap[K, V], i int) bool {
	if a.shards == nil || b.shards == nil {
		return a.shards == b.shards
	}
	return a.shards[i] == b.shards[i]
}
