package proxy

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/resolved"
)

// TestNodeOnly: with Config.Delivery set, no control plane runs (no
// manifests, no state file); the node agent programs whatever the
// delivery brings, and traffic follows it.
func TestNodeOnly(t *testing.T) {
	w := netnstest.NewWorld(t)
	pod := w.AddPod(t, "web-1")
	pod.Serve(t, 8080)
	var latest resolved.Latest
	p, err := New(Config{Delivery: &latest, NetNS: w.Node.Path(), Node: "n1", ClusterCIDRs: []netip.Prefix{w.PodCIDRv4}})
	if err != nil {
		t.Fatal(err)
	}
	if p.cp != nil || p.cfg.StateFile != "" {
		t.Fatalf("node-only proxy has a control plane (%v) or a state file (%q)", p.cp != nil, p.cfg.StateFile)
	}
	if _, err := p.Resolve(); err == nil {
		t.Error("Resolve in node-only mode succeeded; want ErrConfig")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	cip := netip.MustParseAddr("10.96.7.7")
	svc := resolved.Service{Namespace: "default", Name: "web", Revision: 1, ClusterIPs: []netip.Addr{cip},
		Ports: []resolved.Port{{Name: "http", Port: 80, TargetPort: 8080}},
		Slices: []endpoints.Slice{{Name: "web-1", Family: endpoints.IPv4,
			Ports:     []endpoints.Port{{Name: "http", Protocol: endpoints.TCP, Port: 8080}},
			Endpoints: []endpoints.Endpoint{{Address: pod.IPv4, NodeName: "n1", Conditions: endpoints.Conditions{Ready: true, Serving: true}}}}}}
	if err := latest.Publish(ctx, &resolved.State{Version: 1, Services: []*resolved.Service{&svc}}); err != nil {
		t.Fatal(err)
	}
	k := &kernelWorld{w: w, p: p, handler: p.Handler()}
	k.waitFor(t, "the delivered state", func(st *resolved.State) bool { return st.Version == 1 })
	if r, err := w.Client.NS.Ask(ctx, "tcp", netip.AddrPortFrom(cip, 80)); err != nil || r.Backend != "web-1" {
		t.Errorf("%s:80 answered %+v, %v; want web-1", cip, r, err)
	}
}

// TestRunListenFails (issue 12): when the metrics address is taken, Run
// returns the error with nothing left running (goleak in TestMain checks).
func TestRunListenFails(t *testing.T) {
	ns := netnstest.NewNS(t, "node")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var latest resolved.Latest
	p, err := New(Config{Delivery: &latest, NetNS: ns.Path(), MetricsListen: taken.Addr().String(), DNSListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "metrics listen") {
		t.Fatalf("Run = %v; want the metrics listen error", err)
	}
}
