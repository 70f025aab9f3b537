// Command outside is a module of its own that uses svcnet only through its
// public API, as an orchestrator that imports it would: a control plane
// allocates and resolves a Service and its pod, a node agent programs a
// fake dataplane and a DNS catalog from the published state.
// TestOutsideModule builds and runs it.
package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	alloc, err := allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}})
	if err != nil {
		return err
	}
	cp, err := controlplane.New(controlplane.Config{Allocator: alloc})
	if err != nil {
		return err
	}
	st, err := cp.Resolve(controlplane.Input{
		Services: []controlplane.Service{{
			Spec:     resolved.Service{Namespace: "shop", Name: "web", Type: resolved.NodePort, Ports: []resolved.Port{{Name: "http", Port: 80, TargetPort: 8080}}},
			Selector: map[string]string{"app": "web"},
		}},
		Workloads: []endpoints.Workload{{Namespace: "shop", Name: "web-0", Labels: map[string]string{"app": "web"},
			IPs: []netip.Addr{netip.MustParseAddr("10.244.1.2")}, Ready: true, Node: "node-1"}},
	})
	if err != nil {
		return err
	}
	catalog := dnsname.NewCatalog(dnsname.CatalogOptions{})
	agent, err := nodeagent.New(nodeagent.Config{Node: "node-1", Dataplane: dataplane.NewFake(dataplane.Options{}), Catalog: catalog})
	if err != nil {
		return err
	}
	if err := agent.Apply(ctx, st); err != nil {
		return err
	}
	ans, _ := catalog.Lookup("web.shop.svc.cluster.local.", dnsname.TypeA)
	if len(ans.Records) != 1 || st.Services[0].Ports[0].NodePort == 0 {
		return fmt.Errorf("want one A record and a node port; have %d records, %+v", len(ans.Records), st.Services[0].Ports[0])
	}
	fmt.Println("ok")
	return nil
}
