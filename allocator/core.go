package allocator

import (
	"math/rand/v2"
	"sync"
)

// Strategy selects how AllocateNext picks a free value.
type Strategy int

const (
	// RandomScan (the zero value and Kubernetes' default) starts at a random offset and
	// scans words forward, so restarted or concurrent allocators rarely collide.
	RandomScan Strategy = iota
	// LowestFree always returns the lowest free value of the band.
	LowestFree
)

// Config configures an allocator.
type Config struct {
	// Strategy picks next-free values. Zero means RandomScan.
	Strategy Strategy
	// Rand is the source for RandomScan. Zero (nil) means a randomly seeded PCG source;
	// pass rand.NewPCG(s1, s2) for deterministic tests.
	Rand rand.Source
}

// core is the offset-space allocator shared by IP and port ranges. Offsets below
// static are the static band (KEP-3070/3668): dynamic allocation uses it only when the
// upper band is full.
type core struct {
	mu     sync.Mutex
	size   uint64 // immutable, readable without mu
	limit  uint64 // immutable: most offsets held at once, min(size, maxSparseUsed)
	bm     bitset
	leaks  map[uint64]int // offset → consecutive repairs it was unheld
	static uint64
	strat  Strategy
	rng    *rand.Rand
}

func newCore(size, static uint64, cfg Config) *core {
	return newCoreOn(size, static, cfg, newBitset(size))
}

// newSparseCore is newCore on the sparse set whatever the size, for LoadBalancer pool
// ranges: building one costs the same for a /8 as for a /30, so that restoring an
// LBAllocator costs what its blob holds, not what its pools span.
func newSparseCore(size uint64, cfg Config) *core {
	return newCoreOn(size, 0, cfg, &sparse{size: size, words: make(map[uint64]uint64)})
}

func newCoreOn(size, static uint64, cfg Config, bs bitset) *core {
	src := cfg.Rand
	if src == nil {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	return &core{size: size, limit: min(size, maxSparseUsed), bm: bs, static: static, strat: cfg.Strategy, rng: rand.New(src)}
}

func (c *core) allocate(o uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bm.has(o) {
		return ErrAllocated
	}
	if c.bm.count() >= c.limit {
		return ErrFull
	}
	c.bm.set(o)
	return nil
}

func (c *core) release(o uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bm.clear(o)
}

func (c *core) has(o uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bm.has(o)
}

func (c *core) next() (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bm.count() >= c.limit {
		return 0, ErrFull
	}
	if o, ok := c.pick(c.static, c.size); ok {
		c.bm.set(o)
		return o, nil
	}
	if o, ok := c.pick(0, c.static); ok {
		c.bm.set(o)
		return o, nil
	}
	return 0, ErrFull
}

func (c *core) pick(lo, hi uint64) (uint64, bool) {
	if lo >= hi {
		return 0, false
	}
	if c.strat == LowestFree {
		return c.bm.nextFree(lo, hi)
	}
	start := lo + c.rng.Uint64N(hi-lo)
	if o, ok := c.bm.nextFree(start, hi); ok {
		return o, true
	}
	return c.bm.nextFree(lo, start)
}

func (c *core) counts() (size, used uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size, c.bm.count()
}

// each calls fn for every set offset in ascending order, under the lock.
func (c *core) each(fn func(uint64) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bm.each(fn)
}
