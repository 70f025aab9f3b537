package manifests

import (
	"fmt"
	"net/netip"
	"strconv"
)

// The vocabulary below is the one every svcnet package that has the concept
// defines (issue 12), so that a conversion such as
// endpoints.Protocol(port.Protocol) is one expression.

// Protocol is a layer-4 protocol. The zero value is TCP, Kubernetes' default.
type Protocol uint8

// Protocols Kubernetes accepts on service, container and slice ports.
const (
	TCP Protocol = iota
	UDP
	SCTP
)

// String returns the Kubernetes spelling: "TCP", "UDP", "SCTP"; other
// values give "Protocol(N)".
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol parses exactly "TCP", "UDP" or "SCTP"; "" gives TCP.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "", "TCP":
		return TCP, nil
	case "UDP":
		return UDP, nil
	case "SCTP":
		return SCTP, nil
	}
	return 0, fmt.Errorf("unsupported protocol %q (want TCP, UDP or SCTP)", s)
}

// MarshalText returns the String form, refusing values outside the enum.
func (p Protocol) MarshalText() ([]byte, error) {
	if p > SCTP {
		return nil, fmt.Errorf("invalid %s", p)
	}
	return []byte(p.String()), nil
}

// UnmarshalText parses as [ParseProtocol].
func (p *Protocol) UnmarshalText(b []byte) error {
	v, err := ParseProtocol(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// TrafficPolicy is a Service's internal or external traffic policy. The zero
// value is PolicyCluster.
type TrafficPolicy uint8

// Traffic policies.
const (
	PolicyCluster TrafficPolicy = iota
	PolicyLocal
)

// String returns "Cluster" or "Local"; other values give "TrafficPolicy(N)".
func (p TrafficPolicy) String() string {
	switch p {
	case PolicyCluster:
		return "Cluster"
	case PolicyLocal:
		return "Local"
	}
	return "TrafficPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ParseTrafficPolicy parses "Cluster" or "Local"; "" gives PolicyCluster.
func ParseTrafficPolicy(s string) (TrafficPolicy, error) {
	switch s {
	case "", "Cluster":
		return PolicyCluster, nil
	case "Local":
		return PolicyLocal, nil
	}
	return 0, fmt.Errorf("unsupported traffic policy %q (want Cluster or Local)", s)
}

// MarshalText returns the String form, refusing values outside the enum.
func (p TrafficPolicy) MarshalText() ([]byte, error) {
	if p > PolicyLocal {
		return nil, fmt.Errorf("invalid %s", p)
	}
	return []byte(p.String()), nil
}

// UnmarshalText parses as [ParseTrafficPolicy].
func (p *TrafficPolicy) UnmarshalText(b []byte) error {
	v, err := ParseTrafficPolicy(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// IPFamily is an IP address family. The zero value means no family; where a
// field may hold it, its comment says what that means.
type IPFamily uint8

// IP families, numbered as the protocol versions.
const (
	IPv4 IPFamily = 4
	IPv6 IPFamily = 6
)

// String returns "IPv4" or "IPv6", "" for the zero value, and
// "IPFamily(N)" for anything else.
func (f IPFamily) String() string {
	switch f {
	case 0:
		return ""
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return "IPFamily(" + strconv.Itoa(int(f)) + ")"
}

// ParseIPFamily parses exactly "IPv4" or "IPv6".
func ParseIPFamily(s string) (IPFamily, error) {
	switch s {
	case "IPv4":
		return IPv4, nil
	case "IPv6":
		return IPv6, nil
	}
	return 0, fmt.Errorf("unsupported IP family %q (want IPv4 or IPv6)", s)
}

// IPFamilyOf returns the family of a, after unmapping an IPv4-mapped IPv6
// address; an invalid address gives the zero IPFamily.
func IPFamilyOf(a netip.Addr) IPFamily {
	switch a = a.Unmap(); {
	case a.Is4():
		return IPv4
	case a.Is6():
		return IPv6
	}
	return 0
}

// MarshalText returns the String form ("" for the zero value), refusing
// values outside the enum.
func (f IPFamily) MarshalText() ([]byte, error) {
	if f != 0 && f != IPv4 && f != IPv6 {
		return nil, fmt.Errorf("invalid %s", f)
	}
	return []byte(f.String()), nil
}

// UnmarshalText parses as [ParseIPFamily], and "" as the zero value so that
// MarshalText round-trips.
func (f *IPFamily) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*f = 0
		return nil
	}
	v, err := ParseIPFamily(string(b))
	if err == nil {
		*f = v
	}
	return err
}
