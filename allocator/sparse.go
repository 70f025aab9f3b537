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

// maxSparseUsed caps the allocations a range holds at once (2^26, about 1 GiB of word
// map when every allocation of a sparse range sits in its own word; a dense range is
// at most 2^24 values, below it). It keeps a restored
// snapshot from claiming runs that would take unbounded memory; a live range stops
// there too, so that every snapshot it takes can be restored.
const maxSparseUsed = 1 << 26

func newBitset(size uint64) bitset {
	if size <= maxDense {
		return newBitmap(size)
	}
	return &sparse{size: size, words: make(map[uint64]uint64)}
}

func (b *bitmap) count() uint64 { return b.used }

// sparse stores only non-empty 64-bit words keyed by word index, so memory follows
// the number of allocations, not the range size (a /64 has 2^64−1 usable addresses).
// Long runs of full words, which only a restored snapshot creates, are kept as spans
// of word indexes instead: a run of 2^26 allocations costs one span, not 2^20 map
// words, so restoring costs what the snapshot's bytes hold, not what its runs claim.
type sparse struct {
	size  uint64
	used  uint64
	words map[uint64]uint64 // words outside spans
	spans []wordSpan        // sorted, disjoint, non-adjacent runs of full words
}

// wordSpan covers the full words [from, to).
type wordSpan struct{ from, to uint64 }

// minSpanWords is the shortest run of full words setRun keeps as a span.
const minSpanWords = 4

func (s *sparse) mask(w uint64) uint64 {
	if w == (s.size-1)/64 && s.size%64 != 0 {
		return 1<<(s.size%64) - 1
	}
	return ^uint64(0)
}

// span returns the index of the span holding word w, or −1.
func (s *sparse) span(w uint64) int {
	if len(s.spans) == 0 {
		return -1 // the common case: no restored long runs
	}
	i, _ := slices.BinarySearchFunc(s.spans, w, func(sp wordSpan, w uint64) int {
		if sp.to <= w {
			return -1
		}
		return 1
	})
	if i < len(s.spans) && s.spans[i].from <= w {
		return i
	}
	return -1
}

func (s *sparse) has(o uint64) bool {
	return s.words[o/64]&(1<<(o%64)) != 0 || s.span(o/64) >= 0
}

func (s *sparse) set(o uint64) bool {
	w, m := o/64, uint64(1)<<(o%64)
	v := s.words[w]
	if v&m != 0 || s.span(w) >= 0 {
		return false
	}
	s.words[w] = v | m
	s.used++
	return true
}

func (s *sparse) clear(o uint64) bool {
	w, m := o/64, uint64(1)<<(o%64)
	if i := s.span(w); i >= 0 {
		// Split the span around w, which becomes a stored word less this bit.
		sp := s.spans[i]
		parts := make([]wordSpan, 0, 2)
		if sp.from < w {
			parts = append(parts, wordSpan{sp.from, w})
		}
		if w+1 < sp.to {
			parts = append(parts, wordSpan{w + 1, sp.to})
		}
		s.spans = slices.Replace(s.spans, i, i+1, parts...)
		s.words[w] = ^m
		s.used--
		return true
	}
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

func (s *sparse) zero() {
	s.words = make(map[uint64]uint64)
	s.spans = nil
	s.used = 0
}

// nextFree walks words from lo; only stored full words can be skipped over one at a
// time, and there are at most used/64 of them, so the walk is bounded by what is
// allocated; a span is skipped in one step.
func (s *sparse) nextFree(lo, hi uint64) (uint64, bool) {
	for lo < hi {
		w := lo / 64
		if i := s.span(w); i >= 0 {
			lo = s.spans[i].to * 64
			continue
		}
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

// walk calls word for every stored word and span for every span, in ascending word
// order, until one returns false. It sorts the stored word keys: it serves iteration
// and snapshots, not the hot path.
func (s *sparse) walk(word func(w, v uint64) bool, span func(sp wordSpan) bool) {
	ks := make([]uint64, 0, len(s.words))
	for k := range s.words {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	j := 0
	for _, w := range ks {
		for ; j < len(s.spans) && s.spans[j].from < w; j++ {
			if !span(s.spans[j]) {
				return
			}
		}
		if !word(w, s.words[w]) {
			return
		}
	}
	for ; j < len(s.spans); j++ {
		if !span(s.spans[j]) {
			return
		}
	}
}

func (s *sparse) each(fn func(o uint64) bool) {
	s.walk(func(w, v uint64) bool {
		for ; v != 0; v &= v - 1 {
			if !fn(w*64 + uint64(bits.TrailingZeros64(v))) {
				return false
			}
		}
		return true
	}, func(sp wordSpan) bool {
		for o := sp.from * 64; o < sp.to*64; o++ {
			if !fn(o) {
				return false
			}
		}
		return true
	})
}

func (s *sparse) runs(fn func(start, n uint64)) {
	var start, n uint64
	add := func(o, k uint64) {
		if n > 0 && start+n == o {
			n += k
			return
		}
		if n > 0 {
			fn(start, n)
		}
		start, n = o, k
	}
	s.walk(func(w, v uint64) bool {
		for v != 0 {
			i := uint64(bits.TrailingZeros64(v))
			k := uint64(bits.TrailingZeros64(^(v >> i)))
			add(w*64+i, k)
			if i+k >= 64 {
				break
			}
			v &^= (1<<k - 1) << i
		}
		return true
	}, func(sp wordSpan) bool {
		add(sp.from*64, (sp.to-sp.from)*64)
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

// setRun marks [start, start+n), known to be free and above everything set so far
// (Restore sets runs in ascending order on an empty set). Full words in the middle of a
// long run become one span.
func (s *sparse) setRun(start, n uint64) {
	s.used += n
	firstFull := start / 64 // (start+63)/64 without overflow near 2^64
	if start%64 != 0 {
		firstFull++
	}
	endFull := (start + n) / 64
	if endFull < firstFull+minSpanWords {
		wordMasks(start, n, func(w, m uint64) { s.words[w] |= m })
		return
	}
	if head := firstFull*64 - start; head > 0 {
		wordMasks(start, head, func(w, m uint64) { s.words[w] |= m })
	}
	if k := len(s.spans); k > 0 && s.spans[k-1].to == firstFull {
		s.spans[k-1].to = endFull
	} else {
		s.spans = append(s.spans, wordSpan{firstFull, endFull})
	}
	if tail := start + n - endFull*64; tail > 0 {
		wordMasks(endFull*64, tail, func(w, m uint64) { s.words[w] |= m })
	}
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
