package allocator

import (
	"fmt"
	"iter"
	"net/netip"
)

// maxDense is the largest range served by the dense bitmap (a /8 of IPv4, 2 MiB);
// larger ranges use the sparse word map.
const maxDense = 1 << 24

// IPRange allocates addresses from a prefix. IPv4 excludes the network and broadcast
// addresses (except /31 and /32, which have none to spare); IPv6 excludes only the first
// address (except /127 and /128). The zero value is not usable; build one with NewIPRange.
// Safe for concurrent use.
type IPRange struct {
	prefix netip.Prefix
	base   netip.Addr // address at offset 0
	c      *core
}

// NewIPRange returns an allocator over p. It returns ErrRangeTooLarge for more than 64 host bits
// (a /64 is the largest IPv6 service range supported, as Kubernetes).
func NewIPRange(p netip.Prefix, cfg Config) (*IPRange, error) {
	if !p.IsValid() {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRange, p)
	}
	p = p.Masked()
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits > 64 {
		return nil, fmt.Errorf("%w: %v", ErrRangeTooLarge, p)
	}
	base := p.Addr()
	if hostBits == 64 {
		// 2^64 addresses minus the excluded first one fit a uint64 exactly.
		return &IPRange{prefix: p, base: base.Next(), c: newCore(^uint64(0), IPStaticBand(^uint64(0)), cfg)}, nil
	}
	size := uint64(1) << hostBits
	switch {
	case p.Addr().Is4() && hostBits >= 2:
		size -= 2
		base = base.Next()
	case p.Addr().Is6() && hostBits >= 2:
		size--
		base = base.Next()
	}
	return &IPRange{prefix: p, base: base, c: newCore(size, IPStaticBand(size), cfg)}, nil
}

func (r *IPRange) offset(a netip.Addr) (uint64, error) {
	if !r.prefix.Contains(a) || a.Less(r.base) {
		return 0, fmt.Errorf("%w: %v", ErrNotInRange, a)
	}
	ab, bb := a.As16(), r.base.As16()
	var d uint64
	for i := 8; i < 16; i++ {
		d = d<<8 | uint64(ab[i])
	}
	var b uint64
	for i := 8; i < 16; i++ {
		b = b<<8 | uint64(bb[i])
	}
	o := d - b
	if o >= r.c.size {
		return 0, fmt.Errorf("%w: %v", ErrNotInRange, a)
	}
	return o, nil
}

func (r *IPRange) addr(o uint64) netip.Addr {
	b := r.base.As16()
	var lo uint64
	for i := 8; i < 16; i++ {
		lo = lo<<8 | uint64(b[i])
	}
	lo += o
	for i := 15; i >= 8; i-- {
		b[i] = byte(lo)
		lo >>= 8
	}
	a := netip.AddrFrom16(b)
	if r.base.Is4() {
		return a.Unmap()
	}
	return a
}

// Allocate reserves a specific address, from either band.
func (r *IPRange) Allocate(a netip.Addr) error {
	o, err := r.offset(a)
	if err != nil {
		return err
	}
	if err := r.c.allocate(o); err != nil {
		return fmt.Errorf("%w: %v", err, a)
	}
	return nil
}

// AllocateNext reserves a free address, upper (dynamic) band first.
func (r *IPRange) AllocateNext() (netip.Addr, error) {
	o, err := r.c.next()
	if err != nil {
		return netip.Addr{}, err
	}
	return r.addr(o), nil
}

// Release frees a; releasing a free address is a no-op.
func (r *IPRange) Release(a netip.Addr) error {
	o, err := r.offset(a)
	if err != nil {
		return err
	}
	r.c.release(o)
	return nil
}

// Has reports whether a is allocated.
func (r *IPRange) Has(a netip.Addr) bool {
	o, err := r.offset(a)
	return err == nil && r.c.has(o)
}

// Size is the number of allocatable addresses.
func (r *IPRange) Size() uint64 { s, _ := r.c.counts(); return s }

// Used is the number of allocated addresses.
func (r *IPRange) Used() uint64 { _, u := r.c.counts(); return u }

// Free is Size − Used.
func (r *IPRange) Free() uint64 { s, u := r.c.counts(); return s - u }

// All yields allocated addresses in ascending order. The allocator is locked while
// iterating: do not call its methods from the loop body.
func (r *IPRange) All() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		r.c.each(func(o uint64) bool { return yield(r.addr(o)) })
	}
}
