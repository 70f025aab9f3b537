package manifests

import (
	"net/netip"
	"testing"
)

// TestVocabulary holds issue 12's one vocabulary: Kubernetes spellings,
// zero values as Kubernetes defaults, and text round trips.
func TestVocabulary(t *testing.T) {
	for _, p := range []Protocol{TCP, UDP, SCTP} {
		b, err := p.MarshalText()
		var q Protocol
		if err != nil || q.UnmarshalText(b) != nil || q != p {
			t.Errorf("Protocol %v round trip = %v, %v", p, q, err)
		}
	}
	if p, err := ParseProtocol(""); p != TCP || err != nil {
		t.Errorf(`ParseProtocol("") = %v, %v; want TCP`, p, err)
	}
	if _, err := ParseProtocol("tcp"); err == nil {
		t.Error(`ParseProtocol("tcp") = nil error; want one (Kubernetes spelling only)`)
	}
	if s := Protocol(7).String(); s != "Protocol(7)" {
		t.Errorf("Protocol(7) = %q", s)
	}
	for _, p := range []TrafficPolicy{PolicyCluster, PolicyLocal} {
		b, err := p.MarshalText()
		var q TrafficPolicy
		if err != nil || q.UnmarshalText(b) != nil || q != p {
			t.Errorf("TrafficPolicy %v round trip = %v, %v", p, q, err)
		}
	}
	if p, err := ParseTrafficPolicy(""); p != PolicyCluster || err != nil {
		t.Errorf(`ParseTrafficPolicy("") = %v, %v; want Cluster`, p, err)
	}
	for _, f := range []IPFamily{0, IPv4, IPv6} {
		b, err := f.MarshalText()
		var g IPFamily
		if err != nil || g.UnmarshalText(b) != nil || g != f {
			t.Errorf("IPFamily %v round trip = %v, %v", f, g, err)
		}
	}
	if f := IPFamilyOf(netip.MustParseAddr("::ffff:10.0.0.1")); f != IPv4 {
		t.Errorf("IPFamilyOf(::ffff:10.0.0.1) = %v; want IPv4", f)
	}
	if f := IPFamilyOf(netip.Addr{}); f != 0 {
		t.Errorf("IPFamilyOf(invalid) = %v; want 0", f)
	}
	if ClusterIP.String() != "ClusterIP" || ServiceType(9).String() != "ServiceType(9)" || RequireDualStack.String() != "RequireDualStack" {
		t.Error("ServiceType or IPFamilyPolicy String is not the Kubernetes spelling")
	}
}
