package endpoints_test

import (
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/endpoints"
)

func Example() {
	svc := endpoints.Service{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"},
		Ports: []endpoints.ServicePort{{Name: "http", Port: 80, TargetPort: endpoints.TargetPort{Name: "http"}}}}
	workloads := []endpoints.Workload{
		{Namespace: "ns", Name: "a", Labels: map[string]string{"app": "web"}, Ready: true,
			IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Ports: []endpoints.ContainerPort{{Name: "http", Number: 8080}}},
		{Namespace: "ns", Name: "b", Labels: map[string]string{"app": "web"}, Deleting: true, Ready: true,
			IPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}, Ports: []endpoints.ContainerPort{{Name: "http", Number: 8080}}},
	}
	plan := endpoints.Reconcile(endpoints.Config{}, &svc, endpoints.Desired(&svc, workloads), nil)
	for _, s := range plan.Create {
		fmt.Println(s.Name, s.Ports[0].Name, s.Ports[0].Port)
		for _, e := range s.Endpoints {
			fmt.Printf("  %v %+v\n", e.Address, e.Conditions)
		}
	}
	// Output:
	// web-1 http 8080
	//   10.0.0.1 {Ready:true Serving:true Terminating:false}
	//   10.0.0.2 {Ready:false Serving:true Terminating:true}
}
