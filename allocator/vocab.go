package allocator

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Protocol, TrafficPolicy and IPFamily are defined exactly as in every other svcnet
// package that has the concept, so that a conversion between packages is one
// expression: dataplane.Protocol(p).

// Protocol is a layer-4 protocol. The zero value is TCP, Kubernetes' default.
type Protocol uint8

// The protocols of a Service port.
const (
	TCP Protocol = iota
	UDP
	SCTP
)

var protocolNames = [...]string{TCP: "TCP", UDP: "UDP", SCTP: "SCTP"}

// String returns "TCP", "UDP" or "SCTP" (Kubernetes' spelling); other values read
// "Protocol(N)".
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
	return 0, fmt.Errorf("allocator: unknown protocol %q", s)
}

// MarshalText implements encoding.TextMarshaler; an unknown value is an error.
func (p Protocol) MarshalText() ([]byte, error) {
	if int(p) >= len(protocolNames) {
		return nil, fmt.Errorf("allocator: unknown protocol %d", p)
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

// TrafficPolicy is a Service's internal or external traffic policy. The zero value is
// PolicyCluster.
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

// ParseTrafficPolicy parses "Cluster" or "Local"; the empty string is PolicyCluster.
func ParseTrafficPolicy(s string) (TrafficPolicy, error) {
	switch s {
	case "", "Cluster":
		return PolicyCluster, nil
	case "Local":
		return PolicyLocal, nil
	}
	return 0, fmt.Errorf("allocator: unknown traffic policy %q", s)
}

// MarshalText implements encoding.TextMarshaler; an unknown value is an error.
func (p TrafficPolicy) MarshalText() ([]byte, error) {
	if p > PolicyLocal {
		return nil, fmt.Errorf("allocator: unknown traffic policy %d", p)
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

// IPFamily is an IP address family. The zero value means no family; in this package
// it means "either family" wherever a request takes one (LBRequest.Family), as
// documented at each use.
type IPFamily uint8

// The IP families.
const (
	IPv4 IPFamily = 4
	IPv6 IPFamily = 6
)

// String returns "IPv4" or "IPv6", "" for the zero value, and "IPFamily(N)" otherwise.
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

// ParseIPFamily parses "IPv4" or "IPv6" (Kubernetes' spec.ipFamilies spelling).
func ParseIPFamily(s string) (IPFamily, error) {
	switch s {
	case "IPv4":
		return IPv4, nil
	case "IPv6":
		return IPv6, nil
	}
	return 0, fmt.Errorf("allocator: unknown IP family %q", s)
}

// MarshalText implements encoding.TextMarshaler; the zero value marshals as "".
func (f IPFamily) MarshalText() ([]byte, error) {
	if f != 0 && f != IPv4 && f != IPv6 {
		return nil, fmt.Errorf("allocator: unknown IP family %d", f)
	}
	return []byte(f.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; "" is the zero value, anything
// else goes through ParseIPFamily.
func (f *IPFamily) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*f = 0
		return nil
	}
	v, err := ParseIPFamily(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// IPFamilyOf returns the family of a, IPv4-mapped addresses counting as IPv4; an
// invalid address has no family (0).
func IPFamilyOf(a netip.Addr) IPFamily {
	switch a = a.Unmap(); {
	case a.Is4():
		return IPv4
	case a.Is6():
		return IPv6
	}
	return 0
}

// valid reports whether f is IPv4 or IPv6.
func (f IPFamily) valid() bool { return f == IPv4 || f == IPv6 }
