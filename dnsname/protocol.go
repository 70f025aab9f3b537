package dnsname

import (
	"strconv"
)

// Protocol is a layer-4 protocol. The zero value is TCP, Kubernetes' default.
// It is defined the same way in every svcnet package that has the concept,
// so converting between packages is one expression:
// dnsname.Protocol(ep.Protocol).
type Protocol uint8

// Protocols Kubernetes accepts on service and endpoint ports.
const (
	TCP Protocol = iota
	UDP
	SCTP
)

var protocolNames = [...]string{TCP: "TCP", UDP: "UDP", SCTP: "SCTP"}

// protocolLabels are the labels of SRV names, which the DNS specification
// spells in lower case.
var protocolLabels = [...]string{TCP: "tcp", UDP: "udp", SCTP: "sctp"}

// String returns the Kubernetes spelling ("TCP", "UDP", "SCTP"), or
// "Protocol(N)" for a value outside the constants.
func (p Protocol) String() string {
	if p.valid() {
		return protocolNames[p]
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

func (p Protocol) valid() bool { return int(p) < len(protocolNames) }

// label returns the protocol's SRV label without its underscore ("tcp").
// p must be valid.
func (p Protocol) label() string { return protocolLabels[p] }

// ParseProtocol parses a Kubernetes protocol name: exactly "TCP", "UDP" or
// "SCTP". The empty string is TCP, as for a port with no protocol. The
// error wraps [ErrInvalidProtocol] and quotes s.
func ParseProtocol(s string) (Protocol, error) {
	if s == "" {
		return TCP, nil
	}
	for p, name := range protocolNames {
		if s == name {
			return Protocol(p), nil
		}
	}
	return TCP, invalid("protocol", s, "is not TCP, UDP or SCTP", ErrInvalidProtocol)
}

// MarshalText implements [encoding.TextMarshaler]. A value outside the
// constants is an error wrapping [ErrInvalidProtocol].
func (p Protocol) MarshalText() ([]byte, error) {
	if !p.valid() {
		return nil, invalid("protocol", p.String(), "is not TCP, UDP or SCTP", ErrInvalidProtocol)
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

// protocolOfLabel returns the protocol of a lower-case SRV label without
// its underscore.
func protocolOfLabel(s string) (Protocol, bool) {
	for p, l := range protocolLabels {
		if s == l {
			return Protocol(p), true
		}
	}
	return TCP, false
}
