package dataplane

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Protocol is a layer-4 protocol. The zero value is TCP, Kubernetes'
// default.
type Protocol uint8

// Protocols a service port may use.
const (
	TCP Protocol = iota
	UDP
	SCTP
)

var protocolNames = [...]string{TCP: "TCP", UDP: "UDP", SCTP: "SCTP"}

// String returns the Kubernetes spelling, "TCP", "UDP" or "SCTP"; other
// values give "Protocol(N)".
func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// nftName returns the protocol as nft spells it ("tcp"), which is what the
// rendered ruleset and the kernel's listing show.
func (p Protocol) nftName() string {
	switch p {
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return "tcp"
}

// ParseProtocol parses exactly "TCP", "UDP" or "SCTP"; the empty string is
// TCP, as Kubernetes defaults it.
func ParseProtocol(s string) (Protocol, error) {
	if s == "" {
		return TCP, nil
	}
	for p, n := range protocolNames {
		if n == s {
			return Protocol(p), nil
		}
	}
	return 0, fmt.Errorf("protocol %q: want TCP, UDP or SCTP: %w", s, ErrInvalid)
}

// MarshalText returns the Kubernetes spelling; a value outside the three
// protocols is an error.
func (p Protocol) MarshalText() ([]byte, error) {
	if int(p) >= len(protocolNames) {
		return nil, fmt.Errorf("protocol %d: %w", p, ErrInvalid)
	}
	return []byte(protocolNames[p]), nil
}

// UnmarshalText parses b as ParseProtocol does.
func (p *Protocol) UnmarshalText(b []byte) error {
	v, err := ParseProtocol(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// TrafficPolicy is a Service's internal or external traffic policy. The
// zero value is PolicyCluster, the Kubernetes default.
type TrafficPolicy uint8

// Traffic policies.
const (
	// PolicyCluster sends traffic to any endpoint in ServicePort.Endpoints.
	PolicyCluster TrafficPolicy = iota
	// PolicyLocal sends traffic only to ServicePort.LocalEndpoints and, for
	// external traffic, keeps the client's source address.
	PolicyLocal
)

var policyNames = [...]string{PolicyCluster: "Cluster", PolicyLocal: "Local"}

// String returns "Cluster" or "Local"; other values give
// "TrafficPolicy(N)".
func (p TrafficPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "TrafficPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ParseTrafficPolicy parses exactly "Cluster" or "Local"; the empty string
// is PolicyCluster, as Kubernetes defaults it.
func ParseTrafficPolicy(s string) (TrafficPolicy, error) {
	switch s {
	case "", "Cluster":
		return PolicyCluster, nil
	case "Local":
		return PolicyLocal, nil
	}
	return 0, fmt.Errorf("traffic policy %q: want Cluster or Local: %w", s, ErrInvalid)
}

// MarshalText returns "Cluster" or "Local"; other values are an error.
func (p TrafficPolicy) MarshalText() ([]byte, error) {
	if int(p) >= len(policyNames) {
		return nil, fmt.Errorf("traffic policy %d: %w", p, ErrInvalid)
	}
	return []byte(policyNames[p]), nil
}

// UnmarshalText parses b as ParseTrafficPolicy does.
func (p *TrafficPolicy) UnmarshalText(b []byte) error {
	v, err := ParseTrafficPolicy(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// IPFamily is an IP address family. The zero value means no family; the
// dataplane programs both families of our inet table and uses the value
// only to tell addresses apart.
type IPFamily uint8

// Address families, numbered after the IP version.
const (
	IPv4 IPFamily = 4
	IPv6 IPFamily = 6
)

// String returns "IPv4" or "IPv6", "" for the zero value and
// "IPFamily(N)" for any other.
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
	return 0, fmt.Errorf("ip family %q: want IPv4 or IPv6: %w", s, ErrInvalid)
}

// IPFamilyOf returns the family of a, IPv4 for an IPv4-mapped IPv6
// address, and zero for the zero Addr.
func IPFamilyOf(a netip.Addr) IPFamily {
	a = a.Unmap()
	switch {
	case a.Is4():
		return IPv4
	case a.Is6():
		return IPv6
	}
	return 0
}

// MarshalText returns "IPv4", "IPv6", or "" for the zero value; other
// values are an error.
func (f IPFamily) MarshalText() ([]byte, error) {
	if f != 0 && f != IPv4 && f != IPv6 {
		return nil, fmt.Errorf("ip family %d: %w", f, ErrInvalid)
	}
	return []byte(f.String()), nil
}

// UnmarshalText parses b as ParseIPFamily does; empty text is the zero
// value, so that MarshalText's output always reads back.
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
