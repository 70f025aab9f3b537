package balancer

import (
	"sync/atomic"
	"unsafe"
)

// numStripes is how many counters round robin spreads its increments over.
// 16 cache lines cover the cores of most nodes; stripe assumes 2^4.
const numStripes = 16

// stripedCounter is a round-robin position without one hot cache line:
// each goroutine advances the counter of its own stripe, so concurrent
// picks on different cores do not contend, while picks made by one
// goroutine still walk the cycle in order. Each stripe starts at its own
// offset, so the stripes do not move in step.
type stripedCounter struct {
	// Leading padding keeps the first stripe off the lines of the fields
	// before it, which every pick reads.
	_ [2 * cacheLine]byte
	s [numStripes]struct {
		n atomic.Int64
		// Two lines of padding: adjacent-line prefetchers pull cache lines
		// in pairs, so one line apart still contends.
		_ [2*cacheLine - 8]byte
	}
}

// init starts every stripe at its own place: random without a seed,
// derived from the seed with one.
func (c *stripedCounter) init(seed uint64) {
	for i := range c.s {
		s := seed
		if seed != 0 {
			s += uint64(i) * 0x9e3779b97f4a7c15
		}
		c.s[i].n.Store(randomStart(s))
	}
}

// next advances the calling goroutine's stripe and returns its new value.
func (c *stripedCounter) next() uint64 {
	return uint64(c.s[stripe()].n.Add(1))
}

// stripe names the calling goroutine's stripe after the address of its
// stack: goroutine stacks are at least 2 KiB (the runtime's smallest) and
// do not overlap, so concurrent goroutines land on different stripes, and
// the runtime offers no cheaper goroutine or processor identity. The
// address is only hashed, never dereferenced, so a stack move merely
// changes the stripe.
func stripe() int {
	var probe byte
	// Stacks are aligned to their power-of-two size, so the bits above
	// 2 KiB tell stacks apart but say little on their own: mix them all.
	h := uint64(uintptr(unsafe.Pointer(&probe))>>11) * 0x9e3779b97f4a7c15
	return int(h >> (64 - 4))
}
