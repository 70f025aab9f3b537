package allocator

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math/bits"
	"net/netip"
)

// maxDense is the largest range served by the dense bitmap (a /8 of IPv4, 2 MiB);
// larger ranges use the sparse word map.
const maxDense = 1 << 24

// IPRange allocates addresses from a prefix or an inclusive from–to range. A prefix
// range (NewIPRange) follows Kubernetes: IPv4 excludes the network and broadcast
// addresses (except /31 and /32, which have none to spare); IPv6 excludes only the
// first address (except /127 and /128); the lowest addresses form the static band.
// A from–to range (NewIPRangeFromTo) holds every address between its ends and has no
// static band. The zero value is not usable; build one with NewIPRange or
// NewIPRangeFromTo. Safe for concurrent use.
type IPRange struct {
	id     string // range identity checked by Restore
	hi, lo uint64 // offset 0 as a 128-bit number (As16), or its rank when skip is set
	is4    bool
	// skip drops IPv4 addresses ending in .0 or .255 from the offset space
	// (MetalLB's avoidBuggyIPs); offsets then count ranks, 254 per /24.
	skip bool
	c    *core
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
	var size uint64
	switch {
	case hostBits == 64:
		// 2^64 addresses minus the excluded first one fit a uint64 exactly.
		size, base = ^uint64(0), base.Next()
	case hostBits >= 2 && base.Is4():
		size, base = 1<<hostBits-2, base.Next()
	case hostBits >= 2:
		size, base = 1<<hostBits-1, base.Next()
	default:
		size = 1 << hostBits
	}
	r := &IPRange{id: p.String(), is4: base.Is4(), c: newCore(size, IPStaticBand(size), cfg)}
	r.hi, r.lo = split(base)
	return r, nil
}

// NewIPRangeFromTo returns an allocator over every address from from to to inclusive,
// with no excluded addresses and no static band: the shape of a MetalLB "start-end"
// pool range. Both ends must be of one family, without zones, with from ≤ to
// (ErrInvalidRange); the range may hold at most 2^64−1 addresses (ErrRangeTooLarge).
// IPv4-mapped IPv6 ends are unmapped.
func NewIPRangeFromTo(from, to netip.Addr, cfg Config) (*IPRange, error) {
	return newIPRangeFromTo(from, to, false, false, cfg)
}

// newIPRangeFromTo serves NewIPRangeFromTo and pool ranges: with skip, a range that
// avoids IPv4 addresses ending in .0 and .255 (it may be empty, Size 0); with pool, one
// on the sparse set whatever its size.
func newIPRangeFromTo(from, to netip.Addr, skip, pool bool, cfg Config) (*IPRange, error) {
	ar := AddrRange{from.Unmap(), to.Unmap()}
	if !ar.IsValid() {
		return nil, fmt.Errorf("%w: %v-%v", ErrInvalidRange, from, to)
	}
	id := ar.String()
	fh, fl := split(ar.From)
	th, tl := split(ar.To)
	if skip && ar.From.Is4() {
		lo, hi := rankCeil(uint32(fl)), rankFloor(uint32(tl))
		size := uint64(0)
		if hi >= int64(lo) {
			size = uint64(hi) - lo + 1
		}
		r := &IPRange{id: id + " avoid-buggy", lo: lo, is4: true, skip: true, c: mkCore(size, pool, cfg)}
		return r, nil
	}
	dl, b := bits.Sub64(tl, fl, 0)
	dh, _ := bits.Sub64(th, fh, b)
	if dh != 0 || dl == ^uint64(0) {
		return nil, fmt.Errorf("%w: %v", ErrRangeTooLarge, id)
	}
	return &IPRange{id: id, hi: fh, lo: fl, is4: ar.From.Is4(), c: mkCore(dl+1, pool, cfg)}, nil
}

func mkCore(size uint64, pool bool, cfg Config) *core {
	if pool {
		return newSparseCore(size, cfg)
	}
	return newCore(size, 0, cfg)
}

// split returns a as a 128-bit number (IPv4 in its IPv4-mapped form).
func split(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// The rank of an IPv4 address v that does not end in .0 or .255 is its index among
// such addresses: 254 per /24.
func rank(v uint32) uint64 { return uint64(v>>8)*254 + uint64(v&0xff) - 1 }

// rankCeil is the rank of the first non-buggy address ≥ v.
func rankCeil(v uint32) uint64 {
	switch v & 0xff {
	case 0:
		return uint64(v>>8) * 254
	case 0xff:
		return uint64(v>>8+1) * 254
	}
	return rank(v)
}

// rankFloor is the rank of the last non-buggy address ≤ v, −1 when there is none.
func rankFloor(v uint32) int64 {
	switch v & 0xff {
	case 0:
		return int64(v>>8)*254 - 1
	case 0xff:
		return int64(v>>8)*254 + 253
	}
	return int64(rank(v))
}

// offset maps a to its offset, reporting false when a is not in the range.
func (r *IPRange) offset(a netip.Addr) (uint64, bool) {
	if a.Is4() != r.is4 || a.Zone() != "" || !a.IsValid() {
		return 0, false
	}
	hi, lo := split(a)
	if r.skip {
		v := uint32(lo)
		if last := v & 0xff; last == 0 || last == 0xff || rank(v) < r.lo {
			return 0, false
		}
		o := rank(v) - r.lo
		return o, o < r.c.size
	}
	d, b := bits.Sub64(lo, r.lo, 0)
	dh, b := bits.Sub64(hi, r.hi, b)
	if dh != 0 || b != 0 || d >= r.c.size {
		return 0, false
	}
	return d, true
}

// offsetErr is offset with the error callers return for an address out of range.
func (r *IPRange) offsetErr(a netip.Addr) (uint64, error) {
	o, ok := r.offset(a)
	if !ok {
		return 0, fmt.Errorf("%w: %v", ErrNotInRange, a)
	}
	return o, nil
}

func (r *IPRange) addr(o uint64) netip.Addr {
	var b [16]byte
	if r.skip {
		k := r.lo + o
		binary.BigEndian.PutUint64(b[8:], 0xffff<<32|(k/254)<<8|(k%254+1))
		return netip.AddrFrom16(b).Unmap()
	}
	lo, carry := bits.Add64(r.lo, o, 0)
	binary.BigEndian.PutUint64(b[:8], r.hi+carry)
	binary.BigEndian.PutUint64(b[8:], lo)
	a := netip.AddrFrom16(b)
	if r.is4 {
		return a.Unmap()
	}
	return a
}

// Contains reports whether a is one of the range's allocatable addresses.
func (r *IPRange) Contains(a netip.Addr) bool {
	_, ok := r.offset(a)
	return ok
}

// Allocate reserves a specific address, from either band.
func (r *IPRange) Allocate(a netip.Addr) error {
	o, err := r.offsetErr(a)
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
	o, err := r.offsetErr(a)
	if err != nil {
		return err
	}
	r.c.release(o)
	return nil
}

// Has reports whether a is allocated.
func (r *IPRange) Has(a netip.Addr) bool {
	o, ok := r.offset(a)
	return ok && r.c.has(o)
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
