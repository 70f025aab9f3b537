package allocator

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// AddrRange is an inclusive range of addresses of one family, as MetalLB writes a pool
// entry: a CIDR or "start-end". The zero AddrRange is invalid (IsValid reports false);
// use ParseAddrRange or AddrRangeFromPrefix. A plain value, safe for concurrent use.
type AddrRange struct {
	From, To netip.Addr
}

// ParseAddrRange parses a CIDR ("192.168.10.0/24", every address of it, network and
// broadcast included, as MetalLB) or an inclusive "start-end" range
// ("192.168.9.1-192.168.9.5"). IPv4-mapped IPv6 addresses are unmapped; zones are
// rejected. It returns ErrInvalidRange for anything else.
func ParseAddrRange(s string) (AddrRange, error) {
	var r AddrRange
	if a, b, ok := strings.Cut(s, "-"); ok {
		from, err1 := netip.ParseAddr(strings.TrimSpace(a))
		to, err2 := netip.ParseAddr(strings.TrimSpace(b))
		if err1 == nil && err2 == nil {
			r = AddrRange{from.Unmap(), to.Unmap()}
		}
	} else if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		r = AddrRangeFromPrefix(p)
	}
	if !r.IsValid() {
		return AddrRange{}, fmt.Errorf("%w: %q is not a CIDR or a start-end range", ErrInvalidRange, s)
	}
	return r, nil
}

// MustParseAddrRange is ParseAddrRange that panics on error. It is intended for use in
// tests with hard-coded strings.
func MustParseAddrRange(s string) AddrRange {
	r, err := ParseAddrRange(s)
	if err != nil {
		panic(err)
	}
	return r
}

// AddrRangeFromPrefix returns every address of p, network and broadcast included; the
// zero AddrRange when p is invalid.
func AddrRangeFromPrefix(p netip.Prefix) AddrRange {
	if !p.IsValid() {
		return AddrRange{}
	}
	p = p.Masked()
	b := p.Addr().As16()
	hostBits := p.Addr().BitLen() - p.Bits()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	switch {
	case hostBits >= 128:
		hi, lo = ^uint64(0), ^uint64(0)
	case hostBits > 64:
		hi, lo = hi|(1<<(hostBits-64)-1), ^uint64(0)
	case hostBits == 64:
		lo = ^uint64(0)
	default:
		lo |= 1<<hostBits - 1
	}
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	to := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		to = to.Unmap()
	}
	return AddrRange{p.Addr(), to}
}

// IsValid reports whether both ends are valid addresses of one family, without zones
// and not IPv4-mapped, with From ≤ To.
func (r AddrRange) IsValid() bool {
	return r.From.IsValid() && r.To.IsValid() && r.From.Is4() == r.To.Is4() &&
		!r.From.Is4In6() && !r.To.Is4In6() && r.From.Zone() == "" && r.To.Zone() == "" &&
		!r.To.Less(r.From)
}

// Contains reports whether a lies in r.
func (r AddrRange) Contains(a netip.Addr) bool {
	return r.IsValid() && a.Is4() == r.From.Is4() && a.Zone() == "" && !a.Less(r.From) && !r.To.Less(a)
}

// overlaps reports whether r and o share an address.
func (r AddrRange) overlaps(o AddrRange) bool {
	return r.From.Is4() == o.From.Is4() && !r.To.Less(o.From) && !o.To.Less(r.From)
}

// String returns "from-to"; the zero AddrRange renders as "invalid AddrRange".
func (r AddrRange) String() string {
	if !r.IsValid() {
		return "invalid AddrRange"
	}
	return r.From.String() + "-" + r.To.String()
}
