package nodeagent

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/resolved"
)

// TestKernelBadInputIsolated is TestBadInputIsolated on a real kernel:
// with each of issue 13's eight inputs in the state, the bad service is
// left out and reported, and a client's connection to the good service's
// ClusterIP still reaches its pod; DNS answers.
func TestKernelBadInputIsolated(t *testing.T) {
	w := netnstest.NewWorld(t)
	pod := w.AddPod(t, "web-0")
	pod.Serve(t, 8080)
	tests, lb, good := badInputs(pod.IPv4.String())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dp, err := dataplane.New(dataplane.Options{NetNS: w.Node.Path(), ClusterCIDRs: []netip.Prefix{w.PodCIDRv4}})
			if err != nil {
				t.Fatal(err)
			}
			defer dp.Close()
			defer func() { _ = dp.Cleanup(context.Background()) }()
			catalog := dnsname.NewCatalog(dnsname.CatalogOptions{})
			agent, _ := New(Config{Node: "n1", Dataplane: dp, Catalog: catalog})
			st := resolved.State{Version: 1, Services: services(tc.svc, lb, good)}
			st.Sort()
			err = agent.Apply(context.Background(), &st)
			var serr *SyncError
			if !errors.As(err, &serr) || len(serr.Refused) != 1 || serr.Refused[resolved.Ref{Namespace: "shop", Name: "bad"}] == nil {
				t.Fatalf("Apply = %v; want a *SyncError naming only shop/bad", err)
			}
			reply, err := w.Client.NS.Ask(context.Background(), "tcp", netip.MustParseAddrPort("10.96.0.1:80"))
			if err != nil || reply.Backend != "web-0" {
				t.Fatalf("client to web's ClusterIP: %+v, %v; want answered by web-0", reply, err)
			}
			for _, name := range []string{"web", "lb"} {
				if ans, _ := catalog.Lookup(name+".shop.svc.cluster.local.", dnsname.TypeA); len(ans.Records) == 0 {
					t.Errorf("DNS stopped answering %s", name)
				}
			}
		})
	}
}
