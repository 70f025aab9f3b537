package manifests

import (
	"testing"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/endpoints"
)

// TestOneExpressionConversions holds issue 12's seam: the composition
// converts this package's small enums and TargetPort into the library's
// with one expression each, so their values must stay the same.
func TestOneExpressionConversions(t *testing.T) {
	types := map[ServiceType]allocator.ServiceType{
		ClusterIP: allocator.ClusterIP, NodePort: allocator.NodePort,
		LoadBalancer: allocator.LoadBalancer, ExternalName: allocator.ExternalName,
	}
	for m, a := range types {
		if allocator.ServiceType(m) != a || m.String() != a.String() {
			t.Errorf("allocator.ServiceType(%v) = %v; want %v", m, allocator.ServiceType(m), a)
		}
	}
	policies := map[IPFamilyPolicy]allocator.IPFamilyPolicy{
		SingleStack: allocator.SingleStack, PreferDualStack: allocator.PreferDualStack, RequireDualStack: allocator.RequireDualStack,
	}
	for m, a := range policies {
		if allocator.IPFamilyPolicy(m) != a || m.String() != a.String() {
			t.Errorf("allocator.IPFamilyPolicy(%v) = %v; want %v", m, allocator.IPFamilyPolicy(m), a)
		}
	}
	tp := TargetPort{Number: 8080, Name: "http"}
	if got := endpoints.TargetPort(tp); got.Number != 8080 || got.Name != "http" {
		t.Errorf("endpoints.TargetPort(%+v) = %+v", tp, got)
	}
	for _, p := range []endpoints.Protocol{endpoints.TCP, endpoints.UDP, endpoints.SCTP} {
		if allocator.Protocol(p).String() != p.String() {
			t.Errorf("allocator.Protocol(%v) = %v", p, allocator.Protocol(p))
		}
	}
}
