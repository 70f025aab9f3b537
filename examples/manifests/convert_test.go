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

func TestConvertTestdata(t *testing.T) {
	set, errs := NewLoader(Config{Dir: "testdata/manifests"}).Load()
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	zones := set.Zones()
	if zones["node-a"] != "zone-a" {
		t.Errorf("Zones() = %v; want node-a in zone-a", zones)
	}
	w := set.Pods[0].Workload(zones[set.Pods[0].Node])
	if w.Name != "my-app-1" || w.Zone != "zone-a" || !w.Ready || len(w.IPs) != 1 || len(w.Ports) != 1 || w.Ports[0].Number != 80 || w.Ports[0].Protocol != endpoints.TCP {
		t.Errorf("Workload = %+v; want my-app-1 in zone-a, ready, one IP, port 80/TCP", w)
	}
	sl, ok := set.EndpointSlices[0].Slice()
	if !ok || sl.Name != "legacy-1" || sl.Family != endpoints.IPv4 || len(sl.Endpoints) != 1 ||
		sl.Endpoints[0].Address.String() != "192.0.2.50" || !sl.Endpoints[0].Conditions.Ready || !sl.Endpoints[0].Conditions.Serving ||
		len(sl.Ports) != 1 || sl.Ports[0] != (endpoints.Port{Name: "http", Protocol: endpoints.TCP, Port: 9090}) {
		t.Errorf("Slice() = %+v, %v; want legacy-1 IPv4 with ready 192.0.2.50 on http/9090", sl, ok)
	}
	fqdn := EndpointSlice{Meta: Meta{Name: "f"}}
	if _, ok := fqdn.Slice(); ok {
		t.Error("FQDN Slice() ok = true; want false")
	}
}
