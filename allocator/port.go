package allocator

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
)

// PortRange allocates ports from [Base, Base+Size). The zero value is not usable;
// build one with NewPortRange. Safe for concurrent use.
type PortRange struct {
	base uint16
	c    *core
	id   string // names the range in snapshots
}

// ParsePortRange parses "lo-hi" (inclusive), e.g. "30000-32767", or a single port.
func ParsePortRange(s string) (lo, hi uint16, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	l, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	h, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	if err1 != nil || err2 != nil || l > h {
		return 0, 0, fmt.Errorf("%w: %q", ErrInvalidRange, s)
	}
	return uint16(l), uint16(h), nil
}

// NewPortRange returns an allocator over the inclusive range s (see ParsePortRange).
func NewPortRange(s string, cfg Config) (*PortRange, error) {
	lo, hi, err := ParsePortRange(s)
	if err != nil {
		return nil, err
	}
	size := uint64(hi-lo) + 1
	return &PortRange{base: lo, c: newCore(size, PortStaticBand(size), cfg), id: fmt.Sprintf("ports:%d-%d", lo, hi)}, nil
}

func (r *PortRange) offset(p uint16) (uint64, bool) {
	return uint64(p - r.base), p >= r.base && uint64(p-r.base) < r.c.size
}

func (r *PortRange) offsetErr(p uint16) (uint64, error) {
	o, ok := r.offset(p)
	if !ok {
		return 0, fmt.Errorf("%w: %d", ErrNotInRange, p)
	}
	return o, nil
}

// Allocate reserves port p, from either band.
func (r *PortRange) Allocate(p uint16) error {
	o, err := r.offsetErr(p)
	if err != nil {
		return err
	}
	if err := r.c.allocate(o); err != nil {
		return fmt.Errorf("%w: %d", err, p)
	}
	return nil
}

// AllocateNext reserves a free port, upper (dynamic) band first.
func (r *PortRange) AllocateNext() (uint16, error) {
	o, err := r.c.next()
	if err != nil {
		return 0, err
	}
	return r.base + uint16(o), nil
}

// Release frees p; releasing a free port is a no-op.
func (r *PortRange) Release(p uint16) error {
	o, err := r.offsetErr(p)
	if err != nil {
		return err
	}
	r.c.release(o)
	return nil
}

// Has reports whether p is allocated.
func (r *PortRange) Has(p uint16) bool {
	o, ok := r.offset(p)
	return ok && r.c.has(o)
}

// Size is the number of ports in the range.
func (r *PortRange) Size() uint64 { s, _ := r.c.counts(); return s }

// Used is the number of allocated ports.
func (r *PortRange) Used() uint64 { _, u := r.c.counts(); return u }

// Free is Size − Used.
func (r *PortRange) Free() uint64 { s, u := r.c.counts(); return s - u }

// All yields allocated ports in ascending order, holding the allocator's lock.
func (r *PortRange) All() iter.Seq[uint16] {
	return func(yield func(uint16) bool) {
		r.c.each(func(o uint64) bool { return yield(r.base + uint16(o)) })
	}
}
