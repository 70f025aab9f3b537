package nodeagent_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
)

// Example is the README's "Embedding" path: an orchestrator's Service and
// its pods, through endpoints, to kernel rules (here a dataplane.Fake;
// TestKernelEmbedding runs the same code on a real kernel) and DNS.
func Example() {
	svc := endpoints.Service{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"},
		Ports: []endpoints.ServicePort{{Name: "http", Port: 80, TargetPort: endpoints.TargetPort{Number: 8080}}}}
	pods := []endpoints.Workload{{Namespace: "shop", Name: "web-0", Labels: map[string]string{"app": "web"},
		IPs: []netip.Addr{netip.MustParseAddr("10.244.1.2")}, Ready: true}}
	plan, _ := endpoints.Reconcile(endpoints.Config{}, &svc, endpoints.Desired(&svc, pods), nil)
	st := resolved.State{Version: 1, Services: []*resolved.Service{{
		Namespace: "shop", Name: "web", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports: []resolved.Port{{Name: "http", Port: 80, TargetPort: 8080}}, Slices: plan.Create,
	}}}
	catalog := dnsname.NewCatalog(dnsname.CatalogOptions{})
	agent, _ := nodeagent.New(nodeagent.Config{Node: "node-1", Dataplane: dataplane.NewFake(dataplane.Options{}), Catalog: catalog})
	if err := agent.Apply(context.Background(), &st); err != nil {
		fmt.Println(err)
	}
	ports := nodeagent.AppendServicePorts(nil, st.Services[0], "node-1", "")
	fmt.Println(ports[0].ClusterIPs[0], ports[0].Port, "->", ports[0].Endpoints[0].Addr)
	ans, _ := catalog.Lookup("web.shop.svc.cluster.local.", dnsname.TypeA)
	fmt.Println(len(ans.Records), "A record")
	// Output:
	// 10.96.0.10 80 -> 10.244.1.2:8080
	// 1 A record
}
