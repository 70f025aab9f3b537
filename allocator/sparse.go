package allocator

import (
	"math/bits"
	"slices"
)

// bitset is the offset set behind core: the dense bitmap for ranges up to maxDense,
// the sparse word map above, chosen by newBitset from the size alone.
type bitset interface {
	has(o uint64) bool
	set(o uint64) bool
	clear(o uint64) bool
	nextFree(lo, hi uint64) (uint64, bool)
	each(fn func(o uint64) bool)
	runs(fn func(start, n uint64))
	count() uint64
	setRun(start, n uint64)
	zero()
}

// maxSparseUsed caps the allocations a sparse range holds at once (2^26, about 1 GiB
// of word map when every allocation sits in its own word). It keeps a restored
// snapshot from claiming runs that would take unbounded memory; a live range stops
// there too, so that every snapshot it takes can be restored.
const maxSparseUsed = 1 << 26

// bitsetLimit is how many offsets newBitset(size) may hold at once.
func bitsetLimit(size uint64) uint64 {
	if size <= maxDense {
		return size
	}
	return min(size, maxSparseUsed)
}

func newBitset(size uint64) bitset {
	if size <= maxDense {
		return newBitmap(size)
	}
	return &sparse{size: size, words: make(map[uint64]uint64)}
}

func (b *bitmap) count() uint64 { return b.used }

// sparse stores only non-empty 64-bit words keyed by word index, so memory follows
// the number of allocations, not the range size (a /64 has 2^64−1 usable addresses).
type sparse struct {
	size  uint64
	used  uint64
	words map[uint64]uint64
}

func (s *sparse) mask(w uint64) uint64 {
	if w == (s.size-1)/64 && s.size%64 != 0 {
		return 1<<(s.size%64) - 1
	}
	return ^uint64(0)
}

func (s *sparse) has(o uint64) bool { return s.words[o/64]&(1<<(o%64)) != 0 }

func (s *sparse) set(o uint64) bool {
	w, m := o/64, uint64(1)<<(o%64)
	v := s.words[w]
	if v&m != 0 {
		return false
	}
	s.words[w] = v | m
	s.used++
	return true
}

func (s *sparse) clear(o uint64) bool {
	w, m := o/64, uint64(1)<<(o%64)
	v := s.words[w]
	if v&m == 0 {
		return false
	}
	if v &^= m; v == 0 {
		delete(s.words, w)
	} else {
		s.words[w] = v
	}
	s.used--
	return true
}

func (s *sparse) count() uint64 { return s.used }

// nextFree walks words from lo; only stored full words can be skipped over, and there
// are at most used/64 of them, so the walk is bounded by what is allocated.
func (s *sparse) nextFree(lo, hi uint64) (uint64, bool) {
	for lo < hi {
		w := lo / 64
		free := ^s.words[w] & s.mask(w) &^ (1<<(lo%64) - 1)
		if free != 0 {
			o := w*64 + uint64(bits.TrailingZeros64(free))
			return o, o < hi
		}
		if w == (s.size-1)/64 {
			return 0, false
		}
		lo = (w + 1) * 64
	}
	return 0, false
}

// each sorts the stored word keys; it serves iteration and snapshots, not the hot path.
func (s *sparse) each(fn func(o uint64) bool) {
	ks := make([]uint64, 0, len(s.words))
	for k := range s.words {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	for _, w := range ks {
		for v := s.words[w]; v != 0; v &= v - 1 {
			if !fn(w*64 + uint64(bits.TrailingZeros64(v))) {
				return
			}
		}
	}
}

func (s *sparse) runs(fn func(start, n uint64)) {
	var start, n uint64
	s.each(func(o uint64) bool {
		if n > 0 && start+n == o {
			n++
			return true
		}
		if n > 0 {
			fn(start, n)
		}
		start, n = o, 1
		return true
	})
	if n > 0 {
		fn(start, n)
	}
}

// runs reports maximal runs of set offsets, taking full words whole.
func (b *bitmap) runs(fn func(start, n uint64)) {
	var start, n uint64
	for w, v := range b.words {
		base := uint64(w) * 64
		if v == ^uint64(0) && n > 0 && start+n == base {
			n += 64
			continue
		}
		for v != 0 {
			i := uint64(bits.TrailingZeros64(v))
			k := uint64(bits.TrailingZeros64(^(v >> i)))
			if n > 0 && start+n == base+i {
				n += k
			} else {
				if n > 0 {
					fn(start, n)
				}
				start, n = base+i, k
			}
			if i+k >= 64 {
				break
			}
			v &^= (1<<k - 1) << i
		}
	}
	if n > 0 {
		fn(start, n)
	}
}

// setRun marks [start, start+n), known to be free, a word at a time.
func (s *sparse) setRun(start, n uint64) {
	s.used += n
	wordMasks(start, n, func(w, m uint64) { s.words[w] |= m })
}

// wordMasks calls fn with each word index and the mask of its bits in [start, start+n).
func wordMasks(start, n uint64, fn func(w, m uint64)) {
	for n > 0 {
		w, off := start/64, start%64
		k := min(64-off, n)
		m := ^uint64(0)
		if k < 64 {
			m = (1<<k - 1) << off
		}
		fn(w, m)
		start += k
		n -= k
	}
}

func (b *bitmap) each(fn func(o uint64) bool) {
	for o, ok := b.nextSet(0); ok; o, ok = b.nextSet(o + 1) {
		if !fn(o) {
			return
		}
	}
}
