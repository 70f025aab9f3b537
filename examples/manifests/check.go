package manifests

import (
	"fmt"
	"github.com/svcnet/svcnet/endpoints"
	"net/netip"
	"strings"

	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/selector"
)

// toMeta checks an object's metadata: the name by the kind's rule
// (DNS-1035 label for Services, DNS-1123 subdomain otherwise), the
// namespace as a DNS-1123 label (empty means "default"), and label keys
// and values as the selector package validates them.
func toMeta(r *rawMeta, serviceName bool) (Meta, *fieldError) {
	m := Meta{Namespace: r.Namespace, Name: r.Name, Labels: r.Labels, Annotations: r.Annotations}
	if m.Namespace == "" {
		m.Namespace = "default"
	}
	switch {
	case m.Name == "":
		return m, invalid("metadata.name", "required")
	case serviceName && dnsname.IsDNS1035Label(m.Name) != nil:
		return m, invalid("metadata.name", "%q is not a DNS-1035 label (lowercase letters, digits, '-', starting with a letter, at most 63)", m.Name)
	case !serviceName && dnsname.IsDNS1123Subdomain(m.Name) != nil:
		return m, invalid("metadata.name", "%q is not a DNS-1123 subdomain", m.Name)
	case dnsname.IsDNS1123Label(m.Namespace) != nil:
		return m, invalid("metadata.namespace", "%q is not a DNS-1123 label", m.Namespace)
	}
	if err := checkLabels("metadata.labels", m.Labels); err != nil {
		return m, err
	}
	return m, nil
}

// checkLabels validates a label map (or a Service's selector, which has the
// same rules) with the selector package, so that whatever loads is accepted
// there and by endpoints.
func checkLabels(field string, m map[string]string) *fieldError {
	if err := selector.ValidateLabels(m); err != nil {
		return &fieldError{field: field, err: reasonf(ErrInvalid, "%v", err)}
	}
	return nil
}

// parseAddr parses s as an address the dataplane can program: a valid IP
// without zone, not IPv4-mapped, and unicast in netip's IsGlobalUnicast
// sense — not unspecified (0.0.0.0, ::), loopback, link-local, multicast or
// the IPv4 broadcast address. Private ranges are unicast and allowed.
func parseAddr(field, s string) (netip.Addr, *fieldError) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return a, invalid(field, "%q is not an IP address", s)
	case a.Zone() != "":
		return a, invalid(field, "%q has a zone", s)
	case a.Is4In6():
		return a, invalid(field, "%q is an IPv4-mapped IPv6 address; write %s", s, a.Unmap())
	case a.IsUnspecified():
		return a, invalid(field, "%s is the unspecified address", a)
	case a.IsLoopback():
		return a, invalid(field, "%s is a loopback address", a)
	case a.IsMulticast():
		return a, invalid(field, "%s is a multicast address", a)
	case a.IsLinkLocalUnicast():
		return a, invalid(field, "%s is a link-local address", a)
	case !a.IsGlobalUnicast():
		return a, invalid(field, "%s is not a unicast address", a)
	}
	return a, nil
}

// parseAddrs parses a list with parseAddr, refusing a repeated address.
func parseAddrs(field string, in []string) ([]netip.Addr, *fieldError) {
	var out []netip.Addr
	for i, s := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		a, err := parseAddr(f, strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		for _, b := range out {
			if a == b {
				return nil, invalid(f, "duplicate %s", a)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// checkPort checks a port number field: 1-65535, or 0 when optional.
func checkPort(field string, n int64, optional bool) (uint16, *fieldError) {
	if n == 0 && optional {
		return 0, nil
	}
	if n < 1 || n > 65535 {
		return 0, invalid(field, "%d is not in 1-65535", n)
	}
	return uint16(n), nil
}

func parseProtocol(field, s string) (endpoints.Protocol, *fieldError) {
	p, err := endpoints.ParseProtocol(s)
	if err != nil {
		return p, &fieldError{field: field, err: reasonf(ErrInvalid, "%v", err)}
	}
	return p, nil
}
