package balancer

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// hashName is FNV-1a over the name, finished with a splitmix64 mixer so
// close names spread over the whole range; seed separates hash families.
func hashName(name string, seed uint64, salt uint64) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	h ^= salt * 0x9e3779b97f4a7c15
	return mix(h)
}

func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// DefaultTableSize is the Maglev table size used when Config.TableSize is zero.
const DefaultTableSize = 65537

func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	for d := uint64(2); d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// MaglevTable builds a Maglev lookup table (NSDI 2016) of size slots
// (a prime; zero means DefaultTableSize) for bs regardless of health. Entry
// s is an index into bs. Backends are ordered by Name before population, so
// the same set and seed give the same backend in every slot on every node
// whatever the input order. Weights set how often a backend takes a turn;
// each backend gets at least one slot.
func MaglevTable(bs []Backend, size, seed uint64) ([]uint32, error) {
	return maglevTable[uint32](bs, size, seed)
}

// maglevTable fills a table of slot type T, which must hold every backend
// index below its largest value, the mark of an empty slot.
func maglevTable[T uint16 | uint32](bs []Backend, size, seed uint64) ([]T, error) {
	if size == 0 {
		size = DefaultTableSize
	}
	if !isPrime(size) || size > math.MaxUint32 {
		return nil, fmt.Errorf("table size %d is not a prime below 2^32: %w", size, ErrInvalidConfig)
	}
	if uint64(len(bs)) > size {
		return nil, fmt.Errorf("%d backends exceed table size %d: %w", len(bs), size, ErrInvalidConfig)
	}
	table := make([]T, size)
	if len(bs) == 0 {
		return table[:0], nil
	}
	order := make([]uint32, len(bs))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int {
		switch {
		case bs[a].Name < bs[b].Name:
			return -1
		case bs[a].Name > bs[b].Name:
			return 1
		}
		return 0
	})
	// One allocation for the per-backend walk state: position, skip, credit.
	state := make([]uint64, 3*len(bs))
	pos, skip, credit := state[:len(bs)], state[len(bs):2*len(bs)], state[2*len(bs):]
	var wmax uint64
	for _, i := range order {
		wmax = max(wmax, uint64(bs[i].weight()))
	}
	for k, i := range order {
		pos[k] = hashName(bs[i].Name, seed, 1) % size
		skip[k] = hashName(bs[i].Name, seed, 2)%(size-1) + 1
		// Start one weight short of a turn so every backend takes one in
		// the first round, which guarantees a slot each.
		credit[k] = wmax - uint64(bs[i].weight())
	}
	empty := ^T(0)
	for s := range table {
		table[s] = empty
	}
	filled := uint64(0)
	for {
		for k, i := range order {
			credit[k] += uint64(bs[i].weight())
			if credit[k] < wmax {
				continue
			}
			credit[k] -= wmax
			p := pos[k]
			for table[p] != empty {
				p += skip[k]
				if p >= size {
					p -= size
				}
			}
			table[p] = T(i)
			p += skip[k]
			if p >= size {
				p -= size
			}
			pos[k] = p
			filled++
			if filled == size {
				return table, nil
			}
		}
	}
}

// Ring is a ketama-style hash ring: Hashes is sorted ascending and
// Backends[j] is the index of the backend owning the arc ending at Hashes[j].
// The zero Ring is empty.
type Ring struct {
	Hashes   []uint64
	Backends []uint32
}

// RingTable builds a ring for bs regardless of health with between minSize
// and maxSize points (zero means 1024 and 8,388,608), each backend's share
// proportional to its weight, as Envoy's ring hash does.
func RingTable(bs []Backend, minSize, maxSize, seed uint64) (Ring, error) {
	if minSize == 0 {
		minSize = 1024
	}
	if maxSize == 0 {
		maxSize = 8 << 20
	}
	if minSize > maxSize {
		return Ring{}, fmt.Errorf("ring size min %d > max %d: %w", minSize, maxSize, ErrInvalidConfig)
	}
	if len(bs) == 0 {
		return Ring{}, nil
	}
	var sum, wmin float64 = 0, math.MaxFloat64
	for i := range bs {
		w := float64(bs[i].weight())
		sum += w
		wmin = min(wmin, w)
	}
	// Scale so the lightest backend gets at least one point, then clamp.
	scale := min(math.Ceil(wmin/sum*float64(minSize))/(wmin/sum), float64(maxSize))
	scale = max(scale, float64(minSize))
	type point struct {
		h uint64
		b uint32
	}
	pts := make([]point, 0, int(scale)+len(bs))
	target, cur := 0.0, 0.0
	for i := range bs {
		target += scale * float64(bs[i].weight()) / sum
		for n := uint64(0); cur < target; n++ {
			pts = append(pts, point{hashName(bs[i].Name, seed, 3+n), uint32(i)})
			cur++
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		case bs[a.b].Name < bs[b.b].Name:
			return -1
		}
		return 1
	})
	r := Ring{Hashes: make([]uint64, len(pts)), Backends: make([]uint32, len(pts))}
	for j, p := range pts {
		r.Hashes[j], r.Backends[j] = p.h, p.b
	}
	return r, nil
}

// Lookup returns the index into Backends of the first point at or after
// the mixed h, wrapping around. h is mixed first because callers' keys
// (FNV of similar strings, say) often differ only in low bits, which would
// otherwise land on a few arcs.
func (r *Ring) Lookup(h uint64) int {
	return r.lowerBound(mix(h))
}

// lowerBound returns the first point at or after h, wrapping to 0.
func (r *Ring) lowerBound(h uint64) int {
	hs := r.Hashes
	if len(hs) == 0 {
		return 0
	}
	// A lower bound without a data-dependent branch: random keys make
	// every comparison a coin toss the predictor loses half the time. The
	// borrow of hs[i]-h is 1 exactly when hs[i] < h.
	base, n := 0, len(hs)
	for n > 1 {
		half := n >> 1
		_, lt := bits.Sub64(hs[base+half], h, 0)
		base += half & -int(lt)
		n -= half
	}
	if hs[base] < h {
		base++
	}
	if base == len(hs) {
		base = 0
	}
	return base
}

// Quality describes how evenly a table spreads slots over backends.
// The zero Quality describes an empty table.
type Quality struct {
	MinSlots, MaxSlots int
	// MaxOverIdeal is MaxSlots divided by the weighted ideal share of the
	// most loaded backend, minus one: 0.01 means 1 % above ideal.
	MaxOverIdeal float64
}

// TableQuality measures table, whose entries index bs.
func TableQuality(table []uint32, bs []Backend) Quality {
	if len(bs) == 0 || len(table) == 0 {
		return Quality{}
	}
	counts := make([]int, len(bs))
	for _, b := range table {
		counts[b]++
	}
	var sum float64
	for i := range bs {
		sum += float64(bs[i].weight())
	}
	q := Quality{MinSlots: math.MaxInt}
	for i, c := range counts {
		q.MinSlots = min(q.MinSlots, c)
		q.MaxSlots = max(q.MaxSlots, c)
		ideal := float64(len(table)) * float64(bs[i].weight()) / sum
		q.MaxOverIdeal = max(q.MaxOverIdeal, float64(c)/ideal-1)
	}
	return q
}

// KeysMoved returns the fraction of keys that a and b send to backends of
// different names: the disruption between two pickers (or two tables).
func KeysMoved(a, b Picker, keys []uint64) float64 {
	if len(keys) == 0 {
		return 0
	}
	moved := 0
	var r Request
	for _, k := range keys {
		r.Hash = k
		ra, errA := a.Pick(&r)
		rb, errB := b.Pick(&r)
		ra.Done()
		rb.Done()
		if (errA == nil) != (errB == nil) || (errA == nil && ra.Backend.Name != rb.Backend.Name) {
			moved++
		}
	}
	return float64(moved) / float64(len(keys))
}

// bounded implements bounded load: walk from a slot to the first backend
// with fewer than ceil(factor·average) in-flight requests.
type bounded struct {
	active []paddedCounter
	total  paddedCounter
	factor float64
}

func (b *bounded) limit() int64 {
	n := float64(len(b.active))
	return int64(math.Ceil(b.factor * float64(b.total.n.Load()+1) / n))
}

type maglev struct {
	base
	// The table is kept in 2 bytes a slot when the backends fit, as they
	// almost always do: a 65,537-slot table then takes 128 KiB instead of
	// 256 KiB, and more of it stays in cache across picks. Exactly one of
	// narrow and wide is set.
	narrow []uint16
	wide   []uint32
	bl     *bounded
}

func (p *maglev) slots() int { return len(p.narrow) + len(p.wide) }

func (p *maglev) at(i uint64) uint32 {
	if p.narrow != nil {
		return uint32(p.narrow[i])
	}
	return p.wide[i]
}

// NewMaglev returns a Picker that maps Request.Hash through a Maglev table
// over the usable backends. It is safe for concurrent use.
func NewMaglev(bs []Backend, cfg Config) (Picker, error) {
	u, err := eligible(bs, cfg)
	if err != nil {
		return nil, err
	}
	sortByName(u)
	p := &maglev{base: base{u}}
	// Two bytes a slot while every backend index fits below the empty mark.
	if len(u) < math.MaxUint16 {
		p.narrow, err = maglevTable[uint16](u, cfg.TableSize, cfg.Seed)
	} else {
		p.wide, err = maglevTable[uint32](u, cfg.TableSize, cfg.Seed)
	}
	if err != nil {
		return nil, err
	}
	if p.bl, err = newBounded(cfg, len(u)); err != nil {
		return nil, err
	}
	return p, nil
}

func newBounded(cfg Config, n int) (*bounded, error) {
	if cfg.LoadFactor == 0 {
		return nil, nil
	}
	if cfg.LoadFactor < 1 {
		return nil, fmt.Errorf("load factor %v below 1: %w", cfg.LoadFactor, ErrInvalidConfig)
	}
	return &bounded{active: make([]paddedCounter, n), factor: cfg.LoadFactor}, nil
}

// Table returns a copy of the slot → backend table; entries index
// Backends().
func (p *maglev) Table() []uint32 {
	if p.wide != nil {
		return slices.Clone(p.wide)
	}
	t := make([]uint32, len(p.narrow))
	for i, b := range p.narrow {
		t[i] = uint32(b)
	}
	return t
}

func (p *maglev) Pick(r *Request) (Result, error) {
	n := uint64(p.slots())
	if n == 0 {
		return Result{}, ErrNoBackend
	}
	s := r.Hash % n
	if p.bl == nil {
		return Result{Backend: &p.bs[p.at(s)]}, nil
	}
	return p.pickBounded(p.bl, func(k int) uint32 { return p.at((s + uint64(k)) % n) }, int(n))
}

// pickBounded walks candidates at(0), at(1), ... and takes the first under
// the load limit; if every one is at the limit it takes the first.
func (b *base) pickBounded(bl *bounded, at func(int) uint32, n int) (Result, error) {
	lim := bl.limit()
	first := at(0)
	pick := first
	for k := 0; k < n; k++ {
		c := at(k)
		if bl.active[c].n.Load() < lim {
			pick = c
			break
		}
	}
	bl.active[pick].n.Add(1)
	bl.total.n.Add(1)
	return Result{Backend: &b.bs[pick], active: &bl.active[pick], total: &bl.total}, nil
}
