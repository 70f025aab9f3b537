package dnsname

import (
	"net/netip"
	"strings"
)

const (
	inAddrArpa = "in-addr.arpa"
	ip6Arpa    = "ip6.arpa"
	hexDigits  = "0123456789abcdef"
)

// ReverseName returns the PTR name of addr: "d.c.b.a.in-addr.arpa." for
// IPv4 and the 32-nibble "….ip6.arpa." for IPv6. IPv4-mapped addresses are
// unmapped first. The zero Addr gives "".
func ReverseName(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	var buf [73]byte // longest: 32 nibbles with dots + "ip6.arpa."
	return string(AppendReverseName(buf[:0], addr))
}

// AppendReverseName appends the [ReverseName] of addr to b.
func AppendReverseName(b []byte, addr netip.Addr) []byte {
	if !addr.IsValid() {
		return b
	}
	if addr.Is4() {
		a := addr.As4()
		for i := 3; i >= 0; i-- {
			b = appendDecimal(b, a[i])
			b = append(b, '.')
		}
		return append(b, inAddrArpa+"."...)
	}
	a := addr.As16()
	for i := 15; i >= 0; i-- {
		b = append(b, hexDigits[a[i]&0xf], '.', hexDigits[a[i]>>4], '.')
	}
	return append(b, ip6Arpa+"."...)
}

func appendDecimal(b []byte, v byte) []byte {
	switch {
	case v >= 100:
		return append(b, '0'+v/100, '0'+v/10%10, '0'+v%10)
	case v >= 10:
		return append(b, '0'+v/10, '0'+v%10)
	}
	return append(b, '0'+v)
}

// hasSuffixFold reports whether s ends with suffix, ignoring ASCII case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && equalFold(s[len(s)-len(suffix):], suffix)
}

// equalFold compares s and t ignoring ASCII case only: DNS names compare
// case-insensitively in ASCII (RFC 4343), unlike strings.EqualFold.
func equalFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lower(t[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ParseReverse decodes a complete reverse name, with or without the trailing
// dot and in any case: four decimal labels under in-addr.arpa or 32 nibble
// labels under ip6.arpa. Partial names (a reverse zone rather than one
// address) are rejected. It does not allocate on success; the error wraps
// [ErrInvalidAddr].
func ParseReverse(name string) (netip.Addr, error) {
	if a, ok := parseReverse(name); ok {
		return a, nil
	}
	return netip.Addr{}, invalid("reverse name", name, "is not a complete in-addr.arpa or ip6.arpa name", ErrInvalidAddr)
}

func parseReverse(name string) (netip.Addr, bool) {
	name = strings.TrimSuffix(name, ".")
	switch {
	case hasSuffixFold(name, "."+inAddrArpa):
		return parseReverse4(name[:len(name)-len(inAddrArpa)-1])
	case hasSuffixFold(name, "."+ip6Arpa):
		return parseReverse6(name[:len(name)-len(ip6Arpa)-1])
	}
	return netip.Addr{}, false
}

func parseReverse4(s string) (netip.Addr, bool) {
	a, ok := parseIPv4(s, '.')
	if !ok {
		return netip.Addr{}, false
	}
	b := a.As4()
	return netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]}), true
}

func parseReverse6(s string) (netip.Addr, bool) {
	if len(s) != 63 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i := 0; i < 32; i++ {
		h := hexVal(s[2*i])
		if h < 0 || (i < 31 && s[2*i+1] != '.') {
			return netip.Addr{}, false
		}
		// Nibble i counts from the least significant end of the address.
		idx := 15 - i/2
		if i%2 == 0 {
			b[idx] |= byte(h)
		} else {
			b[idx] |= byte(h) << 4
		}
	}
	return netip.AddrFrom16(b), true
}
