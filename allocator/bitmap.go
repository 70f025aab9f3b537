package allocator

import "math/bits"

// bitmap is a dense set over offsets [0,size) with a summary level: one bit per
// word that is completely full, so a next-free scan skips 64 full words per
// summary word instead of probing bit by bit.
type bitmap struct {
	size    uint64
	used    uint64
	words   []uint64
	full    []uint64 // bit w set when words[w] has no free bit
	lastBit uint64   // mask of valid bits in the last word
}

func newBitmap(size uint64) *bitmap {
	n := (size + 63) / 64
	b := &bitmap{size: size, words: make([]uint64, n), full: make([]uint64, (n+63)/64)}
	b.lastBit = ^uint64(0)
	if r := size % 64; r != 0 {
		b.lastBit = 1<<r - 1
	}
	return b
}

func (b *bitmap) wordMask(w uint64) uint64 {
	if w == uint64(len(b.words))-1 {
		return b.lastBit
	}
	return ^uint64(0)
}

func (b *bitmap) has(o uint64) bool { return b.words[o/64]&(1<<(o%64)) != 0 }

// set marks o; it reports false when o was already set.
func (b *bitmap) set(o uint64) bool {
	w, m := o/64, uint64(1)<<(o%64)
	if b.words[w]&m != 0 {
		return false
	}
	b.words[w] |= m
	b.used++
	if b.words[w] == b.wordMask(w) {
		b.full[w/64] |= 1 << (w % 64)
	}
	return true
}

// clear unmarks o; it reports false when o was not set.
func (b *bitmap) clear(o uint64) bool {
	w, m := o/64, uint64(1)<<(o%64)
	if b.words[w]&m == 0 {
		return false
	}
	b.words[w] &^= m
	b.used--
	b.full[w/64] &^= 1 << (w % 64)
	return true
}

// nextFree returns the lowest free offset in [lo,hi), scanning from lo.
func (b *bitmap) nextFree(lo, hi uint64) (uint64, bool) {
	for lo < hi {
		w := lo / 64
		if b.full[w/64]&(1<<(w%64)) != 0 {
			// Skip runs of full words using the summary word.
			s := b.full[w/64] >> (w % 64)
			skip := uint64(bits.TrailingZeros64(^s))
			lo = (w + skip) * 64
			continue
		}
		free := ^b.words[w] & b.wordMask(w) &^ (1<<(lo%64) - 1)
		if free != 0 {
			o := w*64 + uint64(bits.TrailingZeros64(free))
			if o < hi {
				return o, true
			}
			return 0, false
		}
		lo = (w + 1) * 64
	}
	return 0, false
}

// nextSet returns the lowest set offset ≥ lo.
func (b *bitmap) nextSet(lo uint64) (uint64, bool) {
	for w := lo / 64; w < uint64(len(b.words)); w++ {
		v := b.words[w]
		if w == lo/64 {
			v &^= 1<<(lo%64) - 1
		}
		if v != 0 {
			return w*64 + uint64(bits.TrailingZeros64(v)), true
		}
	}
	return 0, false
}
