package controlplane_test

import (
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

func Example() {
	alloc, err := allocator.NewServices(allocator.ServicesConfig{
		ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/24")},
		Range:           allocator.Config{Strategy: allocator.LowestFree},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cp, _ := controlplane.New(controlplane.Config{Allocator: alloc})
	st, err := cp.Resolve(controlplane.Input{
		Services: []controlplane.Service{{
			Spec:     resolved.Service{Namespace: "shop", Name: "web", Ports: []resolved.Port{{Name: "http", Port: 80, TargetPort: 8080}}},
			Selector: map[string]string{"app": "web"},
		}},
		Workloads: []endpoints.Workload{{Namespace: "shop", Name: "web-0", Labels: map[string]string{"app": "web"},
			IPs: []netip.Addr{netip.MustParseAddr("10.244.1.2")}, Ready: true}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	web := st.Services[0]
	fmt.Println(st.Version, web.Name, web.ClusterIPs, web.Slices[0].Endpoints[0].Address, web.Slices[0].Ports[0].Port)
	// Output: 1 web [10.96.0.17] 10.244.1.2 8080
}
