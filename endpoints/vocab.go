package endpoints

import (
	"fmt"
	"net/netip"
	"strconv"
)

// The three types below are defined the same way in every svcnet package
// that has the concept (same names, values and spellings), so converting
// between packages is one expression: dataplane.Protocol(ep.Protocol).

// Protocol is a layer-4 protocol. The zero value is TCP, Kubernetes' default.
type Protocol uint8

// Protocols Kubernetes accepts on service and container ports.
const (
	TCP Protocol = iota
	UDP
	SCTP
)

var protocolNames = [...]string{TCP: "TCP", UDP: "UDP", SCTP: "SCTP"}

// String returns the Kubernetes spelling ("TCP", "UDP", "SCTP"), or
// "Protocol(N)" for a value outside the constants.
func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol parses a Kubernetes protocol name: exactly "TCP", "UDP" or
// "SCTP". The empty string is TCP, as for a port with no protocol.
func ParseProtocol(s string) (Protocol, error) {
	if s == "" {
		return TCP, nil
	}
	for p, name := range protocolNames {
		if s == name {
			return Protocol(p), nil
		}
	}
	return TCP, fmt.Errorf("endpoints: protocol %q is not TCP, UDP or SCTP", s)
}

// MarshalText implements [encoding.TextMarshaler]. A value outside the
// constants is an error.
func (p Protocol) MarshalText() ([]byte, error) {
	if int(p) >= len(protocolNames) {
		return nil, fmt.Errorf("endpoints: cannot marshal %v", p)
	}
	return []byte(protocolNames[p]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseProtocol].
func (p *Protocol) UnmarshalText(b []byte) error {
	v, err := ParseProtocol(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// TrafficPolicy is a Service's internal or external traffic policy. The
// zero value is PolicyCluster.
type TrafficPolicy uint8

// Traffic policies Kubernetes accepts.
const (
	PolicyCluster TrafficPolicy = iota
	PolicyLocal
)

var policyNames = [...]string{PolicyCluster: "Cluster", PolicyLocal: "Local"}

// String returns "Cluster" or "Local", or "TrafficPolicy(N)" for a value
// outside the constants.
func (p TrafficPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "TrafficPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ParseTrafficPolicy parses "Cluster" or "Local". The empty string is
// PolicyCluster, Kubernetes' default.
func ParseTrafficPolicy(s string) (TrafficPolicy, error) {
	switch s {
	case "", "Cluster":
		return PolicyCluster, nil
	case "Local":
		return PolicyLocal, nil
	}
	return PolicyCluster, fmt.Errorf("endpoints: traffic policy %q is not Cluster or Local", s)
}

// MarshalText implements [encoding.TextMarshaler]. A value outside the
// constants is an error.
func (p TrafficPolicy) MarshalText() ([]byte, error) {
	if int(p) >= len(policyNames) {
		return nil, fmt.Errorf("endpoints: cannot marshal %v", p)
	}
	return []byte(policyNames[p]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with
// [ParseTrafficPolicy].
func (p *TrafficPolicy) UnmarshalText(b []byte) error {
	v, err := ParseTrafficPolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// IPFamily is an IP address family. The zero value means no family; each
// use says what that stands for ([Service.Families] treats none as IPv4
// only).
type IPFamily uint8

// The two IP families, numbered after their IP versions.
const (
	IPv4 IPFamily = 4
	IPv6 IPFamily = 6
)

// String returns "IPv4" or "IPv6" (Kubernetes' spelling), "" for the zero
// value and "IPFamily(N)" for any other value.
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

// ParseIPFamily parses "IPv4" or "IPv6".
func ParseIPFamily(s string) (IPFamily, error) {
	switch s {
	case "IPv4":
		return IPv4, nil
	case "IPv6":
		return IPv6, nil
	}
	return 0, fmt.Errorf("endpoints: IP family %q is not IPv4 or IPv6", s)
}

// IPFamilyOf returns a's family, looking through an IPv4-mapped IPv6
// address (it is IPv4). An invalid address has no family (zero).
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

// MarshalText implements [encoding.TextMarshaler]: "IPv4", "IPv6", or
// empty for the zero value; any other value is an error.
func (f IPFamily) MarshalText() ([]byte, error) {
	if f != 0 && f != IPv4 && f != IPv6 {
		return nil, fmt.Errorf("endpoints: cannot marshal %v", f)
	}
	return []byte(f.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with
// [ParseIPFamily]; empty text is the zero value, so that MarshalText's
// output always reads back.
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
