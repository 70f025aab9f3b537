package dnsname

import (
	"net/netip"
	"strings"
)

// DefaultZone is the cluster domain used when a zone is left empty.
const DefaultZone = "cluster.local"

// SchemaVersion is the version of the Kubernetes DNS-Based Service Discovery
// specification this package implements; it is the text of the
// dns-version TXT record.
const SchemaVersion = "1.1.0"

// zoneOf returns zone without a trailing dot, or DefaultZone when empty.
func zoneOf(zone string) string {
	zone = strings.TrimSuffix(zone, ".")
	if zone == "" {
		return DefaultZone
	}
	return zone
}

// fqdn joins labels and the zone into an absolute name with a trailing dot.
func fqdn(zone string, labels ...string) string {
	zone = zoneOf(zone)
	n := len(zone) + 1
	for _, l := range labels {
		n += len(l) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for _, l := range labels {
		b.WriteString(l)
		b.WriteByte('.')
	}
	b.WriteString(zone)
	b.WriteByte('.')
	return b.String()
}

// ServiceFQDN returns "<svc>.<ns>.svc.<zone>." (zone defaults to
// [DefaultZone]). Inputs are used as given; validate them first.
func ServiceFQDN(svc, ns, zone string) string {
	return fqdn(zone, svc, ns, "svc")
}

// SRVName returns "_<port>._<proto>.<svc>.<ns>.svc.<zone>." for a named port.
// The protocol label is lower case ([TCP] gives "_tcp") as the spec
// requires. A proto outside the constants gives "".
func SRVName(port string, proto Protocol, svc, ns, zone string) string {
	if !proto.valid() {
		return ""
	}
	return fqdn(zone, "_"+port, "_"+proto.label(), svc, ns, "svc")
}

// EndpointFQDN returns "<label>.<svc>.<ns>.svc.<zone>.", the name of one
// endpoint of a headless service; label comes from [EndpointLabel].
func EndpointFQDN(label, svc, ns, zone string) string {
	return fqdn(zone, label, svc, ns, "svc")
}

// PodFQDN returns "<dashed address>.<ns>.pod.<zone>.", e.g.
// "10-3-0-2.default.pod.cluster.local." or "fd00--1.default.pod.cluster.local.".
func PodFQDN(addr netip.Addr, ns, zone string) string {
	return fqdn(zone, DashedAddr(addr), ns, "pod")
}

// VersionName returns "dns-version.<zone>.", the name of the TXT record
// whose text is [SchemaVersion].
func VersionName(zone string) string {
	return fqdn(zone, "dns-version")
}

// EndpointLabel returns the first label of an endpoint's name under a
// headless service, choosing as CoreDNS does: the endpoint's hostname;
// else, when usePodName is set, its pod name if that is a label shorter
// than 64 characters; else the dashed form of its first address. It returns
// "" for an endpoint without hostname and addresses.
func EndpointLabel(ep Endpoint, usePodName bool) string {
	if l := hostLabel(&ep, usePodName); l != "" || len(ep.Addrs) == 0 {
		return l
	}
	return DashedAddr(ep.Addrs[0])
}

// DashedAddr returns addr in the form used in pod and endpoint names: an
// IPv4 address with '-' for '.', "10-3-0-2"; an IPv6 address in its
// canonical (RFC 5952) text with '-' for ':', so "::" becomes "--"
// ("fd00--1"). IPv4-mapped addresses are unmapped and zones dropped, since
// neither can appear in a DNS label. The zero Addr gives "".
func DashedAddr(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	var buf [64]byte
	return string(AppendDashedAddr(buf[:0], addr))
}

// AppendDashedAddr appends the [DashedAddr] form of addr to b.
func AppendDashedAddr(b []byte, addr netip.Addr) []byte {
	if !addr.IsValid() {
		return b
	}
	addr = cleanAddr(addr)
	start := len(b)
	b = addr.AppendTo(b)
	for i := start; i < len(b); i++ {
		if b[i] == '.' || b[i] == ':' {
			b[i] = '-'
		}
	}
	return b
}

// ParseDashedAddr parses the dashed address form of [DashedAddr],
// case-insensitively and without allocating. Three dashes and no "--"
// mean IPv4 (as in CoreDNS); anything else is read as IPv6 with '-' for ':',
// compressed or not; IPv4-mapped IPv6 addresses come back as IPv4. The
// error wraps [ErrInvalidAddr].
func ParseDashedAddr(s string) (netip.Addr, error) {
	if a, ok := parseDashed(s); ok {
		return a, nil
	}
	return netip.Addr{}, invalid("dashed address", s, "is not an IPv4 or IPv6 address with '-' separators", ErrInvalidAddr)
}

func parseDashed(s string) (netip.Addr, bool) {
	if strings.Count(s, "-") == 3 && !strings.Contains(s, "--") {
		return parseIPv4(s, '-')
	}
	return parseIPv6Dashed(s)
}

// parseIPv4 reads four decimal octets separated by sep, rejecting leading
// zeros as netip does.
func parseIPv4(s string, sep byte) (netip.Addr, bool) {
	var out [4]byte
	field, val, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == sep {
			if digits == 0 || field > 3 {
				return netip.Addr{}, false
			}
			out[field] = byte(val)
			field, val, digits = field+1, 0, 0
			continue
		}
		c := s[i]
		if !isDigit(c) || (digits > 0 && val == 0) {
			return netip.Addr{}, false
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			return netip.Addr{}, false
		}
	}
	if field != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(out), true
}

func hexVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// parseIPv6Dashed reads an IPv6 address written with '-' for ':'. Embedded
// IPv4 tails are not accepted: a dashed name cannot tell them apart.
func parseIPv6Dashed(s string) (netip.Addr, bool) {
	var groups [8]uint16
	n, ellipsis := 0, -1
	i := 0
	if strings.HasPrefix(s, "--") {
		ellipsis, i = 0, 2
		if len(s) == 2 {
			return netip.IPv6Unspecified(), true
		}
	}
	for i < len(s) {
		if n == 8 {
			return netip.Addr{}, false
		}
		val, digits := 0, 0
		for i < len(s) && digits < 5 {
			h := hexVal(s[i])
			if h < 0 {
				break
			}
			val, digits, i = val<<4|h, digits+1, i+1
		}
		if digits == 0 || digits > 4 {
			return netip.Addr{}, false
		}
		groups[n] = uint16(val)
		n++
		if i == len(s) {
			break
		}
		if s[i] != '-' {
			return netip.Addr{}, false
		}
		i++
		if i < len(s) && s[i] == '-' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = n
			i++
			if i == len(s) {
				break
			}
		} else if i == len(s) {
			return netip.Addr{}, false
		}
	}
	if ellipsis >= 0 {
		if n == 8 {
			return netip.Addr{}, false
		}
		shift := 8 - n
		copy(groups[ellipsis+shift:], groups[ellipsis:n])
		clear(groups[ellipsis : ellipsis+shift])
	} else if n != 8 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for k, g := range groups {
		b[2*k], b[2*k+1] = byte(g>>8), byte(g)
	}
	// DashedAddr writes IPv4-mapped addresses as IPv4; read them the same.
	return netip.AddrFrom16(b).Unmap(), true
}
