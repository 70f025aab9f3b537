package dataplane

import (
	"encoding/binary"
	"net/netip"
)

// pack appends sp's packed form to dst: every field but its key, with
// lengths where a field may vary, so that two service ports of one key
// pack to the same bytes exactly when they program the same rules. A
// fragment keeps its service port packed after its elements, instead of
// a deep copy: at 45,000 service ports the copies were 15 MB of a cold
// start's fresh memory, and a changed service port is told by comparing
// bytes. Nil and empty lists pack alike, as they program alike.
func (sp *ServicePort) pack(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, sp.Port)
	dst = binary.LittleEndian.AppendUint16(dst, sp.NodePort)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(sp.AffinityTimeout))
	dst = append(dst, byte(sp.ExternalPolicy), byte(sp.InternalPolicy), byte(sp.Balancing))
	dst = binary.LittleEndian.AppendUint32(dst, sp.MaglevSize)
	if sp.HashSourcePort {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	for _, as := range [...][]netip.Addr{sp.ClusterIPs, sp.ExternalIPs, sp.LoadBalancerIPs} {
		dst = binary.AppendUvarint(dst, uint64(len(as)))
		for _, a := range as {
			dst = packAddr(dst, a)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(sp.LoadBalancerSourceRanges)))
	for _, p := range sp.LoadBalancerSourceRanges {
		dst = append(packAddr(dst, p.Addr()), byte(p.Bits()))
	}
	for _, eps := range [...][]Endpoint{sp.Endpoints, sp.LocalEndpoints} {
		dst = binary.AppendUvarint(dst, uint64(len(eps)))
		for _, e := range eps {
			dst = packAddr(dst, e.Addr.Addr())
			dst = binary.LittleEndian.AppendUint16(dst, e.Addr.Port())
			dst = binary.LittleEndian.AppendUint32(dst, e.Weight)
		}
	}
	return dst
}

// packAddr appends a's length and binary form (none for the zero Addr,
// 4 or 16 bytes, then any zone): equal exactly when the addresses are.
func packAddr(dst []byte, a netip.Addr) []byte {
	dst = binary.AppendUvarint(dst, uint64(a.BitLen()/8+len(a.Zone())))
	dst, _ = a.AppendBinary(dst) // never fails
	return dst
}
