package endpoints_test

import (
	"errors"
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
	plan, err := endpoints.Reconcile(endpoints.Config{}, &svc, endpoints.Desired(&svc, workloads), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
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

// ExampleTracker_AppendEndpoints feeds a dataplane's full update of one
// service port from the Tracker itself, with no shadow copy.
func ExampleTracker_AppendEndpoints() {
	svc := endpoints.Ref{Namespace: "ns", Name: "web"}
	ports := []endpoints.Port{{Name: "http", Protocol: endpoints.TCP, Port: 8080}}
	ep := func(a string, ready bool) endpoints.Endpoint {
		return endpoints.Endpoint{Address: netip.MustParseAddr(a), Conditions: endpoints.Conditions{Ready: ready, Serving: ready}}
	}
	tr := endpoints.NewTracker()
	tr.Update(svc, &endpoints.Slice{Name: "web-1", Family: endpoints.IPv4, Ports: ports, Endpoints: []endpoints.Endpoint{ep("10.0.0.2", true), ep("10.0.0.1", false)}})
	tr.Changes()
	for _, port := range tr.AppendPorts(nil) {
		fmt.Println(port.Service.Name, port.Port, port.Protocol)
		for _, e := range tr.AppendEndpoints(nil, port) {
			fmt.Println(" ", e.AddrPort, "ready", e.Endpoint.Conditions.Ready)
		}
		fmt.Println("  usable on node-1:", len(tr.AppendUsableEndpoints(nil, port, "node-1", "", endpoints.PolicyCluster)))
	}
	// Output:
	// web http TCP
	//   10.0.0.1:8080 ready false
	//   10.0.0.2:8080 ready true
	//   usable on node-1: 1
}

func ExampleAppendUsable() {
	eps := []endpoints.Endpoint{
		{Address: netip.MustParseAddr("10.0.0.1"), Zone: "a", Hints: endpoints.Hints{ForZone: "a"}, Conditions: endpoints.Conditions{Ready: true, Serving: true}},
		{Address: netip.MustParseAddr("10.0.0.2"), Zone: "b", Hints: endpoints.Hints{ForZone: "b"}, Conditions: endpoints.Conditions{Ready: true, Serving: true}},
	}
	for _, e := range endpoints.AppendUsable(nil, eps, "node-1", "b", endpoints.PolicyCluster) {
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

// ExampleReconcile_repack scales 400 endpoints in four full slices down to
// 100, a quarter from each slice. Kubernetes would keep four slices of 25;
// 100 endpoints need one slice plus one spare, so the repack empties the
// two smallest (by name on a tie) into the fullest slice the plan writes
// anyway: the same four writes, two slices.
func ExampleReconcile_repack() {
	svc := endpoints.Service{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"},
		Ports: []endpoints.ServicePort{{Name: "http", Port: 80}}}
	pod := func(i int) endpoints.Workload {
		return endpoints.Workload{Namespace: "ns", Name: fmt.Sprint("web-", i), Labels: map[string]string{"app": "web"},
			Ready: true, IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}}
	}
	var pods []endpoints.Workload
	for i := range 400 {
		pods = append(pods, pod(i))
	}
	plan, _ := endpoints.Reconcile(endpoints.Config{}, &svc, endpoints.Desired(&svc, pods), nil)
	existing := plan.Create
	var left []endpoints.Workload
	for i, p := range pods {
		if i%100 < 25 {
			left = append(left, p)
		}
	}
	plan, err := endpoints.Reconcile(endpoints.Config{}, &svc, endpoints.Desired(&svc, left), existing)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range plan.Update {
		fmt.Println("update", s.Name, len(s.Endpoints))
	}
	fmt.Println("delete", plan.Delete)
	// Output:
	// update web-3 75
	// update web-4 25
	// delete [web-1 web-2]
}

// ExampleReconcile_errors shows the input errors a controller branches on.
func ExampleReconcile_errors() {
	svc := endpoints.Service{Namespace: "ns", Name: "web", TrafficDistribution: "Nearby"}
	_, err := endpoints.Reconcile(endpoints.Config{}, &svc, nil, nil)
	fmt.Println(errors.Is(err, endpoints.ErrInvalidService), err)
	_, err = endpoints.Reconcile(endpoints.Config{MaxEndpointsPerSlice: 5000}, &svc, nil, nil)
	fmt.Println(errors.Is(err, endpoints.ErrInvalidConfig), err)
	// Output:
	// true endpoints: invalid service: service ns/web: trafficDistribution "Nearby" is not PreferClose, PreferSameZone or PreferSameNode
	// true endpoints: invalid config: MaxEndpointsPerSlice 5000 is not between 1 and 1000
}
