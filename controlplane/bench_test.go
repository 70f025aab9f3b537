package controlplane

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

// BenchmarkResolveChurn measures one Resolve of 10,000 services, each
// selecting its own pod, after the pods of 1,000 of them changed address
// (issue 13's churn): the unchanged 9,000 are reused, not allocated and
// reconciled again.
func BenchmarkResolveChurn(b *testing.B) {
	const n, k = 10000, 1000
	alloc, err := allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}})
	if err != nil {
		b.Fatal(err)
	}
	cp, _ := New(Config{Allocator: alloc})
	in := Input{Services: make([]Service, n), Workloads: make([]endpoints.Workload, n)}
	for i := range n {
		app := fmt.Sprintf("s%d", i)
		in.Services[i] = Service{Spec: resolved.Service{Namespace: "bench", Name: app, Ports: []resolved.Port{{Name: "http", Port: 80, TargetPort: 8080}}},
			Selector: map[string]string{"app": app}}
		in.Workloads[i] = endpoints.Workload{Namespace: "bench", Name: "p" + app, Labels: map[string]string{"app": app},
			IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})}, Ready: true}
	}
	if _, err := cp.Resolve(in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for r := range b.N {
		for i := range k {
			in.Workloads[i].IPs = []netip.Addr{netip.AddrFrom4([4]byte{10, byte(2 + r%2), byte(i >> 8), byte(i)})}
		}
		st, err := cp.Resolve(in)
		if err != nil || st.Version != uint64(r+2) {
			b.Fatalf("Resolve = version %d, %v", st.Version, err)
		}
	}
}
