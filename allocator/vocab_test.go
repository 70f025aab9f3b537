package allocator

import (
	"net/netip"
	"testing"
)

// TestVocabulary pins the spellings shared by every svcnet package (issue 12) and
// Kubernetes' API values: Protocol "TCP"/"UDP"/"SCTP" with "" meaning TCP,
// externalTrafficPolicy "Cluster"/"Local" with "" meaning Cluster, ipFamilies
// "IPv4"/"IPv6".
func TestVocabulary(t *testing.T) {
	for _, p := range []Protocol{TCP, UDP, SCTP} {
		got, err := ParseProtocol(p.String())
		if err != nil || got != p {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v", p.String(), got, err, p)
		}
		b, err := p.MarshalText()
		var q Protocol
		if err != nil || q.UnmarshalText(b) != nil || q != p {
			t.Errorf("Protocol %v text round trip = %q, %v, %v", p, b, err, q)
		}
	}
	if p, err := ParseProtocol(""); err != nil || p != TCP {
		t.Errorf(`ParseProtocol("") = %v, %v; want TCP`, p, err)
	}
	for _, s := range []string{"tcp", "ICMP", " TCP"} {
		if _, err := ParseProtocol(s); err == nil {
			t.Errorf("ParseProtocol(%q) succeeded; want an error", s)
		}
	}
	if s := Protocol(7).String(); s != "Protocol(7)" {
		t.Errorf("Protocol(7).String() = %q", s)
	}
	if _, err := Protocol(7).MarshalText(); err == nil {
		t.Error("Protocol(7).MarshalText succeeded")
	}
	for s, want := range map[string]TrafficPolicy{"": PolicyCluster, "Cluster": PolicyCluster, "Local": PolicyLocal} {
		if got, err := ParseTrafficPolicy(s); err != nil || got != want {
			t.Errorf("ParseTrafficPolicy(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseTrafficPolicy("local"); err == nil {
		t.Error(`ParseTrafficPolicy("local") succeeded`)
	}
	var tp TrafficPolicy
	if b, _ := PolicyLocal.MarshalText(); tp.UnmarshalText(b) != nil || tp != PolicyLocal || string(b) != "Local" {
		t.Errorf("TrafficPolicy text round trip = %q, %v", b, tp)
	}
	for s, want := range map[string]IPFamily{"IPv4": IPv4, "IPv6": IPv6} {
		if got, err := ParseIPFamily(s); err != nil || got != want || got.String() != s {
			t.Errorf("ParseIPFamily(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseIPFamily("ipv4"); err == nil {
		t.Error(`ParseIPFamily("ipv4") succeeded`)
	}
	var f IPFamily = IPv6
	if f.UnmarshalText(nil) != nil || f != 0 || IPFamily(0).String() != "" {
		t.Errorf("zero IPFamily text = %v", f)
	}
	for a, want := range map[string]IPFamily{"10.0.0.1": IPv4, "::ffff:10.0.0.1": IPv4, "fd00::1": IPv6} {
		if got := IPFamilyOf(netip.MustParseAddr(a)); got != want {
			t.Errorf("IPFamilyOf(%s) = %v; want %v", a, got, want)
		}
	}
	if got := IPFamilyOf(netip.Addr{}); got != 0 {
		t.Errorf("IPFamilyOf(invalid) = %v; want 0", got)
	}
}
