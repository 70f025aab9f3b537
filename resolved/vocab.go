package resolved

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Protocol, TrafficPolicy and IPFamily are defined exactly as in every other
// svcnet package that has the concept, so that a conversion between packages
// is one expression: dataplane.Protocol(p).

// Protocol is a layer-4 protocol. The zero value is TCP, Kubernetes' default.
type Protocol uint8

// The protocols of a Service port.
const (
	TCP Protocol = iota
	UDP
	SCTP
)

var protocolNames = [...]string{TCP: "TCP", UDP: "UDP", SCTP: "SCTP"}

// String returns "TCP", "UDP" or "SCTP" (Kubernetes' spelling); other values
// read "Protocol(N)".
func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol parses exactly "TCP", "UDP" or "SCTP"; the empty string is TCP.
func ParseProtocol(s string) (Protocol, error) {
	if s == "" {
		return TCP, nil
	}
	for i, n := range protocolNames {
		if s == n {
			return Protocol(i), nil
		}
	}
	return 0, fmt.Errorf("resolved: unknown protocol %q", s)
}

// MarshalText implements encoding.TextMarshaler; an unknown value is an error.
func (p Protocol) MarshalText() ([]byte, error) {
	if int(p) >= len(protocolNames) {
		return nil, fmt.Errorf("resolved: unknown protocol %d", p)
	}
	return []byte(protocolNames[p]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseProtocol.
func (p *Protocol) UnmarshalText(b []byte) error {
	v, err := ParseProtocol(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// TrafficPolicy is a Service's internal or external traffic policy. The zero
// value is PolicyCluster.
type TrafficPolicy uint8

// The traffic policies of a Service.
const (
	PolicyCluster TrafficPolicy = iota
	PolicyLocal
)

// String returns "Cluster" or "Local"; other values read "TrafficPolicy(N)".
func (p TrafficPolicy) String() string {
	switch p {
	case PolicyCluster:
		return "Cluster"
	case PolicyLocal:
		return "Local"
	}
	return "TrafficPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ParseTrafficPolicy parses exactly "Cluster" or "Local"; the empty string is
// PolicyCluster.
func ParseTrafficPolicy(s string) (TrafficPolicy, error) {
	switch s {
	case "", "Cluster":
		return PolicyCluster, nil
	case "Local":
		return PolicyLocal, nil
	}
	return 0, fmt.Errorf("resolved: unknown traffic policy %q", s)
}

// MarshalText implements encoding.TextMarshaler; an unknown value is an error.
func (p TrafficPolicy) MarshalText() ([]byte, error) {
	if p > PolicyLocal {
		return nil, fmt.Errorf("resolved: unknown traffic policy %d", p)
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseTrafficPolicy.
func (p *TrafficPolicy) UnmarshalText(b []byte) error {
	v, err := ParseTrafficPolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// IPFamily is an IP address family. The zero value means no family; in a
// Service's IPFamilies it never appears, in a Slice it is invalid.
type IPFamily uint8

// The IP families.
const (
	IPv4 IPFamily = 4
	IPv6 IPFamily = 6
)

// String returns "IPv4" or "IPv6"; the zero value reads ""; other values
// "IPFamily(N)".
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
	return 0, fmt.Errorf("resolved: unknown IP family %q", s)
}

// IPFamilyOf returns a's family, after unmapping an IPv4-mapped IPv6
// address; an invalid address has none (zero).
func IPFamilyOf(a netip.Addr) IPFamily {
	switch a = a.Unmap(); {
	case a.Is4():
		return IPv4
	case a.Is6():
		return IPv6
	}
	return 0
}

// MarshalText implements encoding.TextMarshaler; only IPv4 and IPv6 are
// written, anything else is an error.
func (f IPFamily) MarshalText() ([]byte, error) {
	if f != IPv4 && f != IPv6 {
		return nil, fmt.Errorf("resolved: unknown IP family %d", f)
	}
	return []byte(f.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseIPFamily.
func (f *IPFamily) UnmarshalText(b []byte) error {
	v, err := ParseIPFamily(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}
