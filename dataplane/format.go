package dataplane

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"strconv"

	"github.com/google/nftables"
)

// keyText spells the key of an element of s as nft lists it: words joined
// by " . ", and an interval as a prefix.
func (s *set) keyText(e elem) string {
	key := e.key()
	if !s.interval {
		return string(appendWords(nil, s.keyTypes, key))
	}
	// The range's first and last key differ only in the last word.
	last := s.keyTypes[len(s.keyTypes)-1]
	n := len(key) - int(last.Bytes)
	b := appendWords(nil, s.keyTypes[:len(s.keyTypes)-1], key[:n])
	if n > 0 {
		b = append(b, " . "...)
	}
	return string(appendPrefix(b, key[n:], e.data()[n:]))
}

// dataText spells the data of an element of s as nft lists it, "" for a
// set or an interval set.
func (s *set) dataText(e elem) string {
	switch {
	case s.verdictMap():
		return e.data()
	case s.interval || len(s.dataTypes) == 0:
		return ""
	}
	return string(appendWords(nil, s.dataTypes, e.data()))
}

// appendWords spells a value of the types ts; in a concatenation each
// word takes a multiple of four bytes.
func appendWords(dst []byte, ts []nftables.SetDatatype, v string) []byte {
	for i, t := range ts {
		if i > 0 {
			dst = append(dst, " . "...)
		}
		n := int(t.Bytes)
		w := v[:n]
		switch t.Name {
		case nftables.TypeIPAddr.Name, nftables.TypeIP6Addr.Name:
			dst = addrOf(w).AppendTo(dst)
		case nftables.TypeInetProto.Name:
			dst = append(dst, protocolNumbered(w[0]).nftName()...)
		case nftables.TypeInetService.Name:
			dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16([]byte(w))), 10)
		case nftables.TypeMark.Name:
			dst = appendMark(dst, binary.NativeEndian.Uint32([]byte(w)))
		}
		if len(ts) > 1 {
			n = (n + 3) &^ 3
		}
		v = v[n:]
	}
	return dst
}

// appendPrefix spells the range from first to last, which our sets only
// ever hold as a prefix.
func appendPrefix(dst []byte, first, last string) []byte {
	ones := 0
	for i := range len(first) {
		x := first[i] ^ last[i]
		ones += bits.LeadingZeros8(x)
		if x != 0 {
			break
		}
	}
	return netip.PrefixFrom(addrOf(first), ones).AppendTo(dst)
}

func addrOf(w string) netip.Addr {
	if len(w) == 4 {
		return netip.AddrFrom4([4]byte([]byte(w)))
	}
	return netip.AddrFrom16([16]byte([]byte(w)))
}

// protocolNumbered is Protocol.number's inverse.
func protocolNumbered(n byte) Protocol {
	for _, p := range []Protocol{TCP, UDP, SCTP} {
		if p.number() == n {
			return p
		}
	}
	return TCP
}
