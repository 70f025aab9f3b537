package selector

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
)

// nShards splits each key's value table so that a write copies one small
// shard instead of the whole table (copy-on-write stays cheap at 100,000
// selectors).
const nShards = 64

// Index holds many selectors under keys of type K (a service name, say) and
// answers which of them match a label set. The cost of a query grows with the
// number of distinct keys the selectors require by equality (or with the
// size of a [Set] given to it, whichever is smaller) and with the number of
// candidates sharing the label values, not with the number of selectors.
// Selectors without any '=', '==' or 'in' requirement are kept in a list that
// every query scans.
//
// Use [NewIndex]; the zero value is also an empty index ready to use. An Index
// is safe for concurrent use: writers are serialised, and readers work on an
// immutable snapshot loaded atomically, so they never block each other or
// wait for writers.
type Index[K comparable] struct {
	mu      sync.Mutex  // serialises writers; protects entries
	entries map[K]entry // every selector set, and where it is filed
	snap    atomic.Pointer[snapshot[K]]
}

// entry is a selector set in the index and the index of the requirement it
// is filed under (noAnchor: the fallback list; notStored: it matches
// nothing).
type entry struct {
	sel    Selector
	anchor int
}

const (
	noAnchor  = -1
	notStored = -2
)

// group is a selector stored in the index with every key that holds it:
// Services often share a selector, and a group is matched once for all.
type group[K comparable] struct {
	sel  Selector
	keys []K
}

// snapshot is an immutable state of the index. Writers build the next one by
// copying only the parts they change.
type snapshot[K comparable] struct {
	seed     maphash.Seed
	n        int            // number of keys set
	keys     []*keyIndex[K] // sorted by name
	fallback []group[K]     // selectors with no positive equality requirement
}

// keyIndex holds the selectors anchored on one label key, by value.
type keyIndex[K comparable] struct {
	name   string
	count  int // postings in all shards
	shards [nShards]map[string][]group[K]
}

// NewIndex returns an empty index.
func NewIndex[K comparable]() *Index[K] {
	x := &Index[K]{entries: make(map[K]entry)}
	x.snap.Store(&snapshot[K]{seed: maphash.MakeSeed()})
	return x
}

// Len returns the number of keys in the index.
func (x *Index[K]) Len() int {
	if sn := x.snap.Load(); sn != nil {
		return sn.n
	}
	return 0
}

// Set adds s under key, replacing the selector key had.
func (x *Index[K]) Set(key K, s Selector) {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, ok := x.entries[key]
	if ok && old.sel.Equal(s) {
		return // an owner re-sets unchanged selectors on every update
	}
	ns := x.next()
	if ok {
		ns.remove(key, old)
	} else {
		ns.n++
	}
	if x.entries == nil {
		x.entries = make(map[K]entry)
	}
	x.entries[key] = ns.add(key, s)
	x.snap.Store(ns)
}

// Delete removes key and its selector, if present.
func (x *Index[K]) Delete(key K) {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, ok := x.entries[key]
	if !ok {
		return
	}
	delete(x.entries, key)
	ns := x.next()
	ns.remove(key, old)
	ns.n--
	x.snap.Store(ns)
}

// next returns a shallow copy of the current snapshot to modify.
// Called with x.mu held.
func (x *Index[K]) next() *snapshot[K] {
	cur := x.snap.Load()
	if cur == nil {
		return &snapshot[K]{seed: maphash.MakeSeed()}
	}
	ns := *cur
	return &ns
}

// AppendMatches appends to dst the keys whose selector matches l, in no
// particular order, and returns the extended slice. It does not allocate when
// dst has room for the result.
func (x *Index[K]) AppendMatches(dst []K, l Labels) []K {
	sn := x.snap.Load()
	if sn == nil {
		return dst
	}
	if m, ok := l.(Set); ok && len(m) < len(sn.keys) {
		for k, v := range m {
			if ki := sn.find(k); ki != nil {
				dst = ki.appendMatches(dst, sn.seed, v, l)
			}
		}
	} else {
		for _, ki := range sn.keys {
			v := l.Get(ki.name)
			if v == "" && !l.Has(ki.name) {
				continue
			}
			dst = ki.appendMatches(dst, sn.seed, v, l)
		}
	}
	return appendGroups(dst, sn.fallback, l)
}

func appendGroups[K comparable](dst []K, gs []group[K], l Labels) []K {
	for i := range gs {
		if gs[i].sel.Matches(l) {
			dst = append(dst, gs[i].keys...)
		}
	}
	return dst
}

func (ki *keyIndex[K]) appendMatches(dst []K, seed maphash.Seed, v string, l Labels) []K {
	return appendGroups(dst, ki.shards[shardOf(seed, v)][v], l)
}

func shardOf(seed maphash.Seed, v string) int {
	return int(maphash.String(seed, v) % nShards)
}

// search finds the position of label key k in sn.keys.
func (sn *snapshot[K]) search(k string) (int, bool) {
	return slices.BinarySearchFunc(sn.keys, k, func(ki *keyIndex[K], k string) int { return cmp.Compare(ki.name, k) })
}

// find returns the keyIndex of label key k, or nil.
func (sn *snapshot[K]) find(k string) *keyIndex[K] {
	i, ok := sn.search(k)
	if !ok {
		return nil
	}
	return sn.keys[i]
}

// anchor chooses the requirement s is filed under: among its '=', '==' and
// 'in' requirements, the one whose buckets hold the fewest selectors now, so
// that in "app=X,tier=Y" the rarer of the two pairs does the filtering. It
// returns noAnchor when s has none (s then goes to the fallback list), and
// notStored when s matches nothing.
func (sn *snapshot[K]) anchor(s Selector) int {
	if s.kind != kindReqs || s.MatchesNothing() {
		return notStored
	}
	best, bestCost := noAnchor, 0
	for i := range s.reqs {
		r := &s.reqs[i]
		switch r.op {
		case opEquals, opDoubleEquals, opIn:
		default:
			continue
		}
		cost := len(r.values) // an empty bucket still costs a lookup per value
		if ki := sn.find(r.key); ki != nil {
			for _, v := range r.values {
				cost += len(ki.shards[shardOf(sn.seed, v)][v])
			}
		}
		if best == noAnchor || cost < bestCost {
			best, bestCost = i, cost
		}
	}
	return best
}

// add files s under key and returns its entry. Called on a private copy of
// the snapshot.
func (sn *snapshot[K]) add(key K, s Selector) entry {
	e := entry{sel: s, anchor: sn.anchor(s)}
	switch e.anchor {
	case notStored:
		return e
	case noAnchor:
		sn.fallback = with(sn.fallback, key, s)
		return e
	}
	r := &s.reqs[e.anchor]
	ki := sn.editKey(r.key, true)
	for i, v := range r.values {
		if i > 0 && v == r.values[i-1] {
			continue // structured selectors may repeat values
		}
		sh := ki.editShard(shardOf(sn.seed, v))
		sh[v] = with(sh[v], key, s)
		ki.count++
	}
	return e
}

// remove unfiles the entry e stored under key.
func (sn *snapshot[K]) remove(key K, e entry) {
	switch e.anchor {
	case notStored:
		return
	case noAnchor:
		sn.fallback = without(sn.fallback, key, e.sel)
		return
	}
	r := &e.sel.reqs[e.anchor]
	ki := sn.editKey(r.key, false)
	for i, v := range r.values {
		if i > 0 && v == r.values[i-1] {
			continue
		}
		sh := ki.editShard(shardOf(sn.seed, v))
		if gs := without(sh[v], key, e.sel); len(gs) > 0 {
			sh[v] = gs
		} else {
			delete(sh, v)
		}
		ki.count--
	}
	if ki.count == 0 {
		i, _ := sn.search(r.key)
		sn.keys = slices.Delete(slices.Clone(sn.keys), i, i+1)
	}
}

// editKey replaces the keyIndex of label key k in sn by a copy (creating it
// if create is set) and returns the copy.
func (sn *snapshot[K]) editKey(k string, create bool) *keyIndex[K] {
	i, ok := sn.search(k)
	keys := slices.Clone(sn.keys)
	var ki *keyIndex[K]
	if ok {
		c := *keys[i]
		ki = &c
		keys[i] = ki
	} else {
		if !create {
			panic("selector: index lost the key of a stored selector")
		}
		ki = &keyIndex[K]{name: k}
		keys = slices.Insert(keys, i, ki)
	}
	sn.keys = keys
	return ki
}

// editShard replaces shard i by a copy and returns it. The posting slices
// are shared with the old shard; callers replace rather than modify them.
func (ki *keyIndex[K]) editShard(i int) map[string][]group[K] {
	sh := make(map[string][]group[K], len(ki.shards[i])+1)
	for v, ps := range ki.shards[i] {
		sh[v] = ps
	}
	ki.shards[i] = sh
	return sh
}

// with returns a copy of gs with key added to the group of s.
func with[K comparable](gs []group[K], key K, s Selector) []group[K] {
	for i := range gs {
		if gs[i].sel.Equal(s) {
			out := slices.Clone(gs)
			out[i].keys = append(slices.Clip(gs[i].keys), key)
			return out
		}
	}
	return append(slices.Clip(gs), group[K]{sel: s, keys: []K{key}})
}

// without returns a copy of gs with key removed from the group of s, and the
// group dropped when it is left empty.
func without[K comparable](gs []group[K], key K, s Selector) []group[K] {
	for i := range gs {
		if !gs[i].sel.Equal(s) {
			continue
		}
		keys := make([]K, 0, len(gs[i].keys))
		for _, k := range gs[i].keys {
			if k != key {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return slices.Delete(slices.Clone(gs), i, i+1)
		}
		out := slices.Clone(gs)
		out[i].keys = keys
		return out
	}
	panic("selector: index lost a stored selector")
}
