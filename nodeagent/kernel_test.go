package nodeagent_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
)

// TestKernelEmbedding runs the README's "Embedding" code (Example) on a
// real kernel: a Service and its pod, through endpoints and the node
// agent, to nftables rules that carry a client's packets to the pod, and
// to a DNS name.
func TestKernelEmbedding(t *testing.T) {
	w := netnstest.NewWorld(t)
	pod := w.AddPod(t, "web-0")
	pod.Serve(t, 8080)
	dp, err := dataplane.New(dataplane.Options{NetNS: w.Node.Path(), ClusterCIDRs: []netip.Prefix{w.PodCIDRv4}})
	if err != nil {
		t.Fatal(err)
	}
	defer dp.Close()

	svc := endpoints.Service{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"},
		Ports: []endpoints.ServicePort{{Name: "http", Port: 80, TargetPort: endpoints.TargetPort{Number: 8080}}}}
	pods := []endpoints.Workload{{Namespace: "shop", Name: "web-0", Labels: map[string]string{"app": "web"},
		IPs: []netip.Addr{pod.IPv4}, Ready: true}}
	plan, _ := endpoints.Reconcile(endpoints.Config{}, &svc, endpoints.Desired(&svc, pods), nil)
	st := resolved.State{Version: 1, Services: []*resolved.Service{{
		Namespace: "shop", Name: "web", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports: []resolved.Port{{Name: "http", Port: 80, TargetPort: 8080}}, Slices: plan.Create,
	}}}
	catalog := dnsname.NewCatalog(dnsname.CatalogOptions{})
	agent, _ := nodeagent.New(nodeagent.Config{Node: "node-1", Dataplane: dp, Catalog: catalog})
	if err := agent.Apply(context.Background(), &st); err != nil {
		t.Fatal(err)
	}

	reply, err := w.Client.NS.Ask(context.Background(), "tcp", netip.MustParseAddrPort("10.96.0.10:80"))
	if err != nil || reply.Backend != "web-0" {
		t.Fatalf("client to 10.96.0.10:80: %+v, %v; want answered by web-0", reply, err)
	}
	if ans, _ := catalog.Lookup("web.shop.svc.cluster.local.", dnsname.TypeA); len(ans.Records) != 1 {
		t.Fatalf("DNS answer %+v; want one A record", ans)
	}
}

// TestKernelRunRepairsDamage (issue 13): while Run serves, someone deletes
// our table; the dataplane's watch puts it back, Run counts the repair,
// and traffic flows again.
func TestKernelRunRepairsDamage(t *testing.T) {
	w := netnstest.NewWorld(t)
	pod := w.AddPod(t, "web-0")
	pod.Serve(t, 8080)
	dp, err := dataplane.New(dataplane.Options{NetNS: w.Node.Path(), ClusterCIDRs: []netip.Prefix{w.PodCIDRv4}})
	if err != nil {
		t.Fatal(err)
	}
	defer dp.Close()
	agent, _ := nodeagent.New(nodeagent.Config{Node: "node-1", Dataplane: dp})
	st := resolved.State{Version: 1, Services: []*resolved.Service{{
		Namespace: "shop", Name: "web", Revision: 1, ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports: []resolved.Port{{Name: "http", Port: 80}},
		Slices: []endpoints.Slice{{Name: "web-1", Family: endpoints.IPv4, Ports: []endpoints.Port{{Name: "http", Port: 8080}},
			Endpoints: []endpoints.Endpoint{{Address: pod.IPv4, Conditions: endpoints.Conditions{Ready: true, Serving: true}}}}},
	}}}
	var latest resolved.Latest
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- agent.Run(ctx, &latest) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	_ = latest.Publish(ctx, &st)
	dst := netip.MustParseAddrPort("10.96.0.10:80")
	ask := func() error {
		_, err := w.Client.NS.Ask(context.Background(), "tcp", dst)
		return err
	}
	for ask() != nil { // until Run has programmed the service
	}
	// The watch subscribes in Run's goroutine: damage the table until a
	// repair is counted, then check traffic.
	for agent.Stats().Repairs == 0 {
		if out, err := w.Node.Exec("nft", "delete", "table", "inet", "svcnet"); err != nil && agent.Stats().Repairs == 0 {
			t.Logf("nft delete: %v %s", err, out) // already gone and not yet repaired
		}
		for range 100 {
			if agent.Stats().Repairs > 0 {
				break
			}
			_ = ask()
		}
	}
	if err := ask(); err != nil {
		t.Fatalf("after the repair the ClusterIP does not answer: %v", err)
	}
}
