package endpoints

import (
	"net/netip"
	"strings"
	"testing"
)

// The spellings are Kubernetes' (core/v1 Protocol, ServiceTrafficPolicy,
// IPFamily in Kubernetes 1.37); the empty string is the API default.
func TestParseProtocol(t *testing.T) {
	tests := []struct {
		in      string
		want    Protocol
		wantErr bool
	}{
		{"", TCP, false}, {"TCP", TCP, false}, {"UDP", UDP, false}, {"SCTP", SCTP, false},
		{"tcp", 0, true}, {"HTTP", 0, true}, {" TCP", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseProtocol(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), `"`+tt.in+`"`) {
			t.Errorf("ParseProtocol(%q) error %q does not name the input", tt.in, err)
		}
	}
	if TCP != 0 {
		t.Error("the zero Protocol is not TCP")
	}
	for _, p := range []Protocol{TCP, UDP, SCTP} {
		b, err := p.MarshalText()
		var back Protocol
		if err != nil || back.UnmarshalText(b) != nil || back != p || string(b) != p.String() {
			t.Errorf("%v: MarshalText = %q, %v; read back %v", p, b, err, back)
		}
	}
	if s := Protocol(7).String(); s != "Protocol(7)" {
		t.Errorf("Protocol(7).String() = %q", s)
	}
	if _, err := Protocol(7).MarshalText(); err == nil {
		t.Error("Protocol(7).MarshalText succeeded")
	}
	var p Protocol
	if err := p.UnmarshalText([]byte("udp")); err == nil {
		t.Error(`UnmarshalText("udp") succeeded`)
	}
}

func TestParseTrafficPolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    TrafficPolicy
		wantErr bool
	}{
		{"", PolicyCluster, false}, {"Cluster", PolicyCluster, false}, {"Local", PolicyLocal, false},
		{"local", 0, true}, {"Topology", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseTrafficPolicy(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParseTrafficPolicy(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for _, p := range []TrafficPolicy{PolicyCluster, PolicyLocal} {
		b, err := p.MarshalText()
		var back TrafficPolicy
		if err != nil || back.UnmarshalText(b) != nil || back != p || string(b) != p.String() {
			t.Errorf("%v: MarshalText = %q, %v; read back %v", p, b, err, back)
		}
	}
	if s := TrafficPolicy(2).String(); s != "TrafficPolicy(2)" {
		t.Errorf("TrafficPolicy(2).String() = %q", s)
	}
	if _, err := TrafficPolicy(2).MarshalText(); err == nil {
		t.Error("TrafficPolicy(2).MarshalText succeeded")
	}
}

func TestIPFamily(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    IPFamily
		wantErr bool
	}{{"IPv4", IPv4, false}, {"IPv6", IPv6, false}, {"ipv4", 0, true}, {"4", 0, true}, {"", 0, true}} {
		got, err := ParseIPFamily(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseIPFamily(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for _, tt := range []struct {
		addr netip.Addr
		want IPFamily
	}{
		{netip.MustParseAddr("10.0.0.1"), IPv4},
		{netip.MustParseAddr("::ffff:10.0.0.1"), IPv4},
		{netip.MustParseAddr("fd00::1"), IPv6},
		{netip.Addr{}, 0},
	} {
		if got := IPFamilyOf(tt.addr); got != tt.want {
			t.Errorf("IPFamilyOf(%v) = %v; want %v", tt.addr, got, tt.want)
		}
	}
	for _, f := range []IPFamily{0, IPv4, IPv6} {
		b, err := f.MarshalText()
		back := IPFamily(9)
		if err != nil || back.UnmarshalText(b) != nil || back != f || string(b) != f.String() {
			t.Errorf("%v: MarshalText = %q, %v; read back %v", f, b, err, back)
		}
	}
	if s := IPFamily(5).String(); s != "IPFamily(5)" {
		t.Errorf("IPFamily(5).String() = %q", s)
	}
	if _, err := IPFamily(5).MarshalText(); err == nil {
		t.Error("IPFamily(5).MarshalText succeeded")
	}
}
