package dataplane

import (
	"errors"
	"net/netip"
	"testing"
)

// TestProtocolSpelling: Kubernetes spells protocols "TCP", "UDP", "SCTP"
// (core/v1 Protocol, 1.37) and defaults an empty one to TCP; nft's
// lowercase spelling stays inside the rendered ruleset.
func TestProtocolSpelling(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Protocol
		nft     string
		wantErr bool
	}{
		{"TCP", TCP, "tcp", false},
		{"UDP", UDP, "udp", false},
		{"SCTP", SCTP, "sctp", false},
		{"", TCP, "tcp", false},
		{"tcp", 0, "", true},
		{"ICMP", 0, "", true},
	} {
		got, err := ParseProtocol(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			continue
		}
		if tt.wantErr {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseProtocol(%q) error %v; want ErrInvalid", tt.in, err)
			}
			continue
		}
		if got.nftName() != tt.nft {
			t.Errorf("%v.nftName() = %q; want %q", got, got.nftName(), tt.nft)
		}
		b, err := got.MarshalText()
		var back Protocol
		if err != nil || back.UnmarshalText(b) != nil || back != got || (tt.in != "" && string(b) != tt.in) {
			t.Errorf("%v: MarshalText = %q, %v; read back %v", got, b, err, back)
		}
	}
	if s := Protocol(7).String(); s != "Protocol(7)" {
		t.Errorf("Protocol(7).String() = %q; want Protocol(7)", s)
	}
	if _, err := Protocol(7).MarshalText(); err == nil {
		t.Error("Protocol(7).MarshalText() succeeded; want an error")
	}
}

// TestTrafficPolicySpelling: externalTrafficPolicy and
// internalTrafficPolicy are "Cluster" (the default) or "Local".
func TestTrafficPolicySpelling(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    TrafficPolicy
		wantErr bool
	}{
		{"Cluster", PolicyCluster, false},
		{"Local", PolicyLocal, false},
		{"", PolicyCluster, false},
		{"local", 0, true},
	} {
		var got TrafficPolicy
		err := got.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			continue
		}
		if b, _ := got.MarshalText(); !tt.wantErr && tt.in != "" && string(b) != tt.in {
			t.Errorf("%v.MarshalText() = %q; want %q", got, b, tt.in)
		}
	}
	if s := TrafficPolicy(5).String(); s != "TrafficPolicy(5)" {
		t.Errorf("TrafficPolicy(5).String() = %q", s)
	}
	if _, err := TrafficPolicy(5).MarshalText(); err == nil {
		t.Error("TrafficPolicy(5).MarshalText() succeeded; want an error")
	}
}

func TestIPFamily(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want IPFamily
		name string
	}{
		{"10.0.0.1", IPv4, "IPv4"},
		{"::ffff:10.0.0.1", IPv4, "IPv4"},
		{"fd00::1", IPv6, "IPv6"},
		{"", 0, ""},
	} {
		var a netip.Addr
		if tt.addr != "" {
			a = netip.MustParseAddr(tt.addr)
		}
		got := IPFamilyOf(a)
		if got != tt.want || got.String() != tt.name {
			t.Errorf("IPFamilyOf(%q) = %v (%q); want %v (%q)", tt.addr, got, got.String(), tt.want, tt.name)
		}
		b, err := got.MarshalText()
		var back IPFamily
		if err != nil || back.UnmarshalText(b) != nil || back != got {
			t.Errorf("%v: MarshalText = %q, %v; read back %v", got, b, err, back)
		}
	}
	if f, err := ParseIPFamily("IPv6"); f != IPv6 || err != nil {
		t.Errorf("ParseIPFamily(IPv6) = %v, %v", f, err)
	}
	if _, err := ParseIPFamily("ipv4"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseIPFamily(ipv4) error = %v; want ErrInvalid", err)
	}
	if _, err := IPFamily(5).MarshalText(); err == nil || IPFamily(5).String() != "IPFamily(5)" {
		t.Errorf("IPFamily(5): MarshalText error %v, String %q", err, IPFamily(5).String())
	}
}

// FuzzParseVocabulary: whatever parses prints back as itself.
func FuzzParseVocabulary(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParseProtocol(s); err == nil && s != "" && p.String() != s {
			t.Errorf("ParseProtocol(%q) = %v", s, p)
		}
		if p, err := ParseTrafficPolicy(s); err == nil && s != "" && p.String() != s {
			t.Errorf("ParseTrafficPolicy(%q) = %v", s, p)
		}
		if p, err := ParseIPFamily(s); err == nil && p.String() != s {
			t.Errorf("ParseIPFamily(%q) = %v", s, p)
		}
	})
}
