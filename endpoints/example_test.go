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

func ExampleTracker() {
	svc := endpoints.Ref{Namespace: "ns", Name: "web"}
	ports := []endpoints.Port{{Name: "http", Protocol: endpoints.TCP, Port: 8080}}
	ep := func(a string, ready bool) endpoints.Endpoint {
		return endpoints.Endpoint{Address: netip.MustParseAddr(a), Conditions: endpoints.Conditions{Ready: ready, Serving: ready}}
	}
	tr := endpoints.NewTracker()
	tr.Update(svc, &endpoints.Slice{Name: "web-1", Family: 4, Ports: ports, Endpoints: []endpoints.Endpoint{ep("10.0.0.1", true), ep("10.0.0.2", true)}})
	tr.Changes() // the proxy programs the first state
	tr.Update(svc, &endpoints.Slice{Name: "web-1", Family: 4, Ports: ports, Endpoints: []endpoints.Endpoint{ep("10.0.0.1", false), ep("10.0.0.3", true)}})
	for _, c := range tr.Changes() {
		fmt.Println(c.Port.Service.Name, c.Port.Port, "added", len(c.Added), "removed", c.Removed[0].AddrPort, "updated", c.Updated[0].AddrPort)
	}
	// Output:
	// web http added 1 removed 10.0.0.2:8080 updated 10.0.0.1:8080
}

func ExampleAppendUsable() {
	eps := []endpoints.Endpoint{
		{Address: netip.MustParseAddr("10.0.0.1"), Zone: "a", Hints: endpoints.Hints{ForZone: "a"}, Conditions: endpoints.Conditions{Ready: true, Serving: true}},
		{Address: netip.MustParseAddr("10.0.0.2"), Zone: "b", Hints: endpoints.Hints{ForZone: "b"}, Conditions: endpoints.Conditions{Ready: true, Serving: true}},
	}
	for _, e := range endpoints.AppendUsable(nil, eps, "node-1", "b", endpoints.Cluster) {
		fmt.Println(e.Address)
	}
	// Output:
	// 10.0.0.2
}

// ExampleServiceIndex finds the services to recompute when a pod changes.
func ExampleServiceIndex() {
	x := endpoints.NewServiceIndex()
	x.Set(&endpoints.Service{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"}})
	x.Set(&endpoints.Service{Namespace: "shop", Name: "db", Selector: map[string]string{"app": "db"}})
	pod := endpoints.Workload{Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web", "pod-template-hash": "5d4f"}}
	fmt.Println(x.AppendSelecting(nil, &pod))
	// Output: [{shop web}]
}
