package allocator

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
)

// LBAllocator snapshot layout (integers uvarint, strings length-prefixed):
//
//	"SVCL" | version byte | pools identity | nentries | entry… | crc32c (4 bytes LE)
//	entry: service | address (4 or 16 bytes, length-prefixed) | sharing key | backend key |
//	       nports | (protocol, port)…   (protocol: 0 TCP, 1 UDP, 2 SCTP)
//
// One entry per service and address, sorted by service then address; the range
// allocators are rebuilt from the entries, so the blob holds each fact once.
const (
	lbSnapMagic   = "SVCL"
	lbSnapVersion = 2 // version 1 spelled protocols as strings
)

// Snapshot returns the allocator's assignments in a versioned, checksummed binary form
// that Restore accepts on an allocator built from the same pools.
func (a *LBAllocator) Snapshot() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.st
	svcs := make([]string, 0, len(st.svcs))
	for s := range st.svcs {
		svcs = append(svcs, s)
	}
	slices.Sort(svcs)
	var n uint64
	for _, h := range st.svcs {
		for _, x := range h {
			if x.IsValid() {
				n++
			}
		}
	}
	buf := make([]byte, 0, 64+len(a.id)+int(n)*32)
	buf = append(buf, lbSnapMagic...)
	buf = append(buf, lbSnapVersion)
	buf = appendStr(buf, a.id)
	buf = binary.AppendUvarint(buf, n)
	for _, s := range svcs {
		for _, x := range st.svcs[s] {
			if !x.IsValid() {
				continue
			}
			rec := st.addrs[x]
			buf = appendStr(buf, s)
			buf = binary.AppendUvarint(buf, uint64(x.BitLen()/8))
			buf = append(buf, x.AsSlice()...)
			buf = appendStr(buf, rec.key)
			buf = appendStr(buf, rec.backend)
			ports := rec.users[s]
			buf = binary.AppendUvarint(buf, uint64(len(ports)))
			for _, p := range ports {
				buf = binary.AppendUvarint(buf, uint64(p.Protocol))
				buf = binary.AppendUvarint(buf, uint64(p.Port))
			}
		}
	}
	return snapshotSeal(buf)
}

func appendStr(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// Restore replaces the allocator's assignments with blob. It returns
// ErrMismatchedRange when the blob was taken over other pools (names, flags or
// ranges), ErrUnknownVersion, or ErrCorruptSnapshot for a damaged blob or one whose
// entries break the sharing rules, a pool bound or one address per family; on error
// the allocator is unchanged.
func (a *LBAllocator) Restore(blob []byte) error {
	r, ver, err := openSnapshotVersions(blob, lbSnapMagic, 1, lbSnapVersion)
	if err != nil {
		return err
	}
	id, err := r.str()
	if err != nil {
		return err
	}
	if id != a.id {
		return fmt.Errorf("%w: snapshot pools %q, allocator pools %q", ErrMismatchedRange, id, a.id)
	}
	n, err := r.count(6) // the shortest entry: 4 empty strings, an address, no ports
	if err != nil {
		return err
	}
	hs := make([]lbHolding, 0, n)
	prev := ""
	for range n {
		svc, x, u, err := readEntry(r, ver)
		if err != nil {
			return err
		}
		if svc < prev {
			return fmt.Errorf("%w: entries out of order", ErrCorruptSnapshot)
		}
		prev = svc
		hs = append(hs, lbHolding{x, u})
	}
	if err := r.end(); err != nil {
		return err
	}
	if err := a.checkHoldings(hs); err != nil {
		return err
	}
	a.replace(hs)
	return nil
}

// checkHoldings reports why hs is not a state a could hold: an address in no pool,
// two of one family for a service, or sharing against MetalLB's rules. It builds a
// scratch state, whose cost follows len(hs), not the pools' size.
func (a *LBAllocator) checkHoldings(hs []lbHolding) error {
	st, err := a.newState(true)
	if err != nil {
		return err
	}
	for _, h := range hs {
		svc := h.u.svc
		if st.svcs[svc][IPFamilyOf(h.addr).index()].IsValid() {
			return fmt.Errorf("%w: service %q holds two %v addresses", ErrCorruptSnapshot, svc, IPFamilyOf(h.addr))
		}
		if _, err := st.take(h.addr, h.u, -1); err != nil {
			return fmt.Errorf("%w: service %q: %v", ErrCorruptSnapshot, svc, err)
		}
		st.hold(svc, h.addr)
	}
	return nil
}

// replace makes the live state hold exactly hs, which checkHoldings accepted. The
// range allocators are emptied in place rather than rebuilt, so a dense range
// allocates nothing.
func (a *LBAllocator) replace(hs []lbHolding) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.st
	for _, rs := range st.ranges {
		for _, r := range rs {
			r.c.reset(func(func(uint64)) {})
		}
	}
	st.addrs = make(map[netip.Addr]*lbAddr, len(hs))
	st.svcs = make(map[string][2]netip.Addr, len(hs))
	st.byKey = make(map[string][]netip.Addr)
	for _, h := range hs {
		_, _ = st.take(h.addr, h.u, -1) // checked by checkHoldings on identical rules
		st.hold(h.u.svc, h.addr)
	}
}

func readEntry(r *snapReader, ver byte) (string, netip.Addr, lbUser, error) {
	var u lbUser
	var err error
	if u.svc, err = r.str(); err != nil {
		return "", netip.Addr{}, u, err
	}
	ab, err := r.bytes()
	if err != nil {
		return "", netip.Addr{}, u, err
	}
	x, ok := netip.AddrFromSlice(ab)
	if !ok || x.Is4In6() {
		return "", netip.Addr{}, u, fmt.Errorf("%w: bad address", ErrCorruptSnapshot)
	}
	if u.key, err = r.str(); err != nil {
		return "", netip.Addr{}, u, err
	}
	if u.backend, err = r.str(); err != nil {
		return "", netip.Addr{}, u, err
	}
	np, err := r.count(2)
	if err != nil {
		return "", netip.Addr{}, u, err
	}
	u.ports = make([]PortProto, 0, np)
	for range np {
		var p PortProto
		proto, err := readProtocol(r, ver)
		if err != nil {
			return "", netip.Addr{}, u, err
		}
		port, err := r.uvarint()
		if err != nil {
			return "", netip.Addr{}, u, err
		}
		p.Protocol = proto
		if port > 0xffff {
			return "", netip.Addr{}, u, fmt.Errorf("%w: bad port", ErrCorruptSnapshot)
		}
		p.Port = uint16(port)
		if len(u.ports) > 0 && comparePorts(u.ports[len(u.ports)-1], p) >= 0 {
			return "", netip.Addr{}, u, fmt.Errorf("%w: ports not sorted and unique", ErrCorruptSnapshot)
		}
		u.ports = append(u.ports, p)
	}
	return u.svc, x, u, nil
}

// readProtocol reads a port's protocol: a number from version 2 on, Kubernetes'
// spelling ("TCP") in version 1.
func readProtocol(r *snapReader, ver byte) (Protocol, error) {
	if ver == 1 {
		s, err := r.str()
		if err != nil {
			return 0, err
		}
		p, err := ParseProtocol(s)
		if err != nil || s == "" {
			return 0, fmt.Errorf("%w: bad protocol %q", ErrCorruptSnapshot, s)
		}
		return p, nil
	}
	v, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64(SCTP) {
		return 0, fmt.Errorf("%w: bad protocol %d", ErrCorruptSnapshot, v)
	}
	return Protocol(v), nil
}
