package nodeagent

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	addr = netip.MustParseAddr
	up   = endpoints.Conditions{Ready: true, Serving: true}
	term = endpoints.Conditions{Serving: true, Terminating: true}
)

func ep(a string, c endpoints.Conditions, node, zone, hint string) endpoints.Endpoint {
	return endpoints.Endpoint{Address: addr(a), Conditions: c, NodeName: node, Zone: zone, Hints: endpoints.Hints{ForZone: hint}}
}

func slice(name string, port uint16, eps ...endpoints.Endpoint) endpoints.Slice {
	return endpoints.Slice{Name: name, Family: endpoints.IPv4, Ports: []endpoints.Port{{Name: "http", Port: port}}, Endpoints: eps}
}

func web(rev uint64, ip string, slices ...endpoints.Slice) resolved.Service {
	return resolved.Service{Namespace: "shop", Name: "web", Revision: rev, ClusterIPs: []netip.Addr{addr(ip)},
		Ports: []resolved.Port{{Name: "http", Port: 80}}, Slices: slices}
}

func addrsOf(eps []dataplane.Endpoint) string {
	var s []string
	for _, e := range eps {
		s = append(s, e.Addr.String())
	}
	return strings.Join(s, " ")
}

// TestAppendServicePorts pins the one usability rule, applied over all of
// a port's slices (kube-proxy's topology.go, Kubernetes 1.37).
func TestAppendServicePorts(t *testing.T) {
	tests := []struct {
		name         string
		svc          resolved.Service
		cluster, loc string
	}{
		{"ready endpoints of every slice, each with its slice's port",
			web(1, "10.96.0.1", slice("a", 8080, ep("10.0.0.1", up, "n1", "", "")), slice("b", 9090, ep("10.0.0.2", up, "n2", "", ""))),
			"10.0.0.1:8080 10.0.0.2:9090", ""},
		{"serving-and-terminating only when none is ready",
			web(1, "10.96.0.1", slice("a", 80, ep("10.0.0.1", term, "n1", "", "")), slice("b", 80, ep("10.0.0.2", term, "n2", "", ""))),
			"10.0.0.1:80 10.0.0.2:80", ""},
		{"a ready endpoint in another slice beats terminating ones",
			web(1, "10.96.0.1", slice("a", 80, ep("10.0.0.1", term, "n1", "", "")), slice("b", 80, ep("10.0.0.2", up, "n2", "", ""))),
			"10.0.0.2:80", ""},
		{"zone hints honoured for this node's zone",
			web(1, "10.96.0.1", slice("a", 80, ep("10.0.0.1", up, "n1", "z1", "z1"), ep("10.0.0.2", up, "n2", "z2", "z2"))),
			"10.0.0.1:80", ""},
	}
	local := web(1, "10.96.0.1", slice("a", 80, ep("10.0.0.1", up, "n1", "", ""), ep("10.0.0.2", up, "n2", "", "")))
	local.InternalTrafficPolicy = resolved.PolicyLocal
	tests = append(tests, struct {
		name         string
		svc          resolved.Service
		cluster, loc string
	}{"Local policy: this node's endpoints", local, "10.0.0.1:80 10.0.0.2:80", "10.0.0.1:80"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendServicePorts(nil, &tc.svc, "n1", "z1")
			if len(got) != 1 {
				t.Fatalf("AppendServicePorts = %d ports; want 1", len(got))
			}
			if c, l := addrsOf(got[0].Endpoints), addrsOf(got[0].LocalEndpoints); c != tc.cluster || l != tc.loc {
				t.Fatalf("endpoints %q, local %q; want %q, %q", c, l, tc.cluster, tc.loc)
			}
		})
	}
	headless := web(1, "10.96.0.1", slice("a", 80, ep("10.0.0.1", up, "n1", "", "")))
	headless.ClusterIPs, headless.Headless = nil, true
	if got := AppendServicePorts(nil, &headless, "n1", ""); len(got) != 0 {
		t.Errorf("headless service: %d ports; want none (nothing to program)", len(got))
	}
	d := DNSService(&headless)
	if d.Type != dnsname.Headless || len(d.Endpoints) != 1 || d.Endpoints[0].Ports[0].Port != 80 {
		t.Errorf("DNSService(headless) = %+v; want one endpoint with its slice's port", d)
	}
}

type node struct {
	fake    *dataplane.Fake
	catalog *dnsname.Catalog
	agent   *Agent
}

func newNode(t *testing.T) *node {
	t.Helper()
	n := &node{fake: dataplane.NewFake(dataplane.Options{}), catalog: dnsname.NewCatalog(dnsname.CatalogOptions{})}
	var err error
	if n.agent, err = New(Config{Node: "n1", Dataplane: n.fake, Catalog: n.catalog}); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *node) answers(name string) bool {
	ans, _ := n.catalog.Lookup(name+".shop.svc.cluster.local.", dnsname.TypeA)
	return len(ans.Records) > 0
}

func TestApplyIncremental(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	db := resolved.Service{Namespace: "shop", Name: "db", Revision: 1, ClusterIPs: []netip.Addr{addr("10.96.0.2")},
		Ports: []resolved.Port{{Name: "sql", Port: 5432}}}
	st := resolved.State{Version: 1, Services: services(db, web(1, "10.96.0.1", slice("a", 80, ep("10.0.0.1", up, "n1", "", ""))))}
	if err := n.agent.Apply(ctx, &st); err != nil {
		t.Fatal(err)
	}
	st2 := resolved.State{Version: 2, Services: services(web(2, "10.96.0.1", slice("a", 80, ep("10.0.0.9", up, "n1", "", ""))))}
	if err := n.agent.Apply(ctx, &st2); err != nil {
		t.Fatal(err)
	}
	if s := n.agent.Stats(); s.FullSyncs != 1 || s.Syncs != 2 {
		t.Fatalf("stats %+v; want 2 syncs, 1 full (the second only the change)", s)
	}
	dump := n.fake.Dump()
	if !strings.Contains(dump, "10.0.0.9") || strings.Contains(dump, "10.0.0.1 ") || strings.Contains(dump, "10.96.0.2") {
		t.Fatalf("after the update the table should hold web's new endpoint and no db:\n%s", dump)
	}
	if n.answers("db") || !n.answers("web") {
		t.Fatal("DNS: db should be gone and web answer")
	}
}

// badCase is one of issue 13's eight inputs, as a service "shop/bad"
// in resolved form (as a control plane that skipped validation would
// publish it).
type badCase struct {
	name string
	svc  resolved.Service
}

// badInputs returns the eight inputs, and the good services they collide
// with: lb (ClusterIP 10.96.0.3, LoadBalancer 203.0.113.1, external IP
// 198.51.100.1) and web (ClusterIP 10.96.0.1, one endpoint webPod:8080).
func badInputs(webPod string) (tests []badCase, lb, good resolved.Service) {
	good = web(1, "10.96.0.1", slice("a", 8080, ep(webPod, up, "n1", "", "")))
	bad := func(edit func(*resolved.Service)) resolved.Service {
		s := resolved.Service{Namespace: "shop", Name: "bad", Revision: 2, Type: resolved.LoadBalancer,
			ClusterIPs: []netip.Addr{addr("10.96.0.5")}, Ports: []resolved.Port{{Name: "http", Port: 80}},
			Slices: []endpoints.Slice{slice("b", 80, ep("10.0.0.5", up, "n1", "", ""))}}
		edit(&s)
		return s
	}
	tests = []badCase{
		{"externalIPs 0.0.0.0", bad(func(s *resolved.Service) { s.ExternalIPs = []netip.Addr{addr("0.0.0.0")} })},
		{"external IP on another service's ClusterIP:port", bad(func(s *resolved.Service) { s.ExternalIPs = []netip.Addr{addr("10.96.0.1")} })},
		{"external IP on another service's LoadBalancer address", bad(func(s *resolved.Service) { s.ExternalIPs = []netip.Addr{addr("203.0.113.1")} })},
		{"two services on one external IP:port", bad(func(s *resolved.Service) { s.ExternalIPs = []netip.Addr{addr("198.51.100.1")} })},
		{"two named ports on one port number", bad(func(s *resolved.Service) {
			s.Ports = append(s.Ports, resolved.Port{Name: "other", Port: 80})
		})},
		{"pod IP 0.0.0.0", bad(func(s *resolved.Service) { s.Slices[0].Endpoints[0].Address = addr("0.0.0.0") })},
		{"EndpointSlice port without a number", bad(func(s *resolved.Service) { s.Slices[0].Ports[0].Port = 0 })},
		{"slice address 0.0.0.0", bad(func(s *resolved.Service) {
			s.Slices[0].Endpoints = append(s.Slices[0].Endpoints, ep("0.0.0.0", up, "", "", ""))
		})},
	}
	lb = resolved.Service{Namespace: "shop", Name: "lb", Revision: 1, Type: resolved.LoadBalancer,
		ClusterIPs: []netip.Addr{addr("10.96.0.3")}, LoadBalancerIPs: []netip.Addr{addr("203.0.113.1")},
		ExternalIPs: []netip.Addr{addr("198.51.100.1")}, Ports: []resolved.Port{{Name: "http", Port: 80}}}
	return tests, lb, good
}

// TestBadInputIsolated (issue 13): each of the eight inputs that passed the
// manifest validation but broke the kernel batch is left out, reported
// against its own service (the newcomer, not the established service it
// collides with, although it sorts first), and every other service stays
// programmed and answers in DNS; health stays ok and reports it; once
// fixed, nothing is reported.
func TestBadInputIsolated(t *testing.T) {
	tests, lb, good := badInputs("10.0.0.1")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t)
			ctx := context.Background()
			st := resolved.State{Version: 1, Services: services(tc.svc, lb, good)}
			st.Sort()
			err := n.agent.Apply(ctx, &st)
			var serr *SyncError
			if !errors.As(err, &serr) || len(serr.Refused) != 1 || serr.Refused[resolved.Ref{Namespace: "shop", Name: "bad"}] == nil {
				t.Fatalf("Apply = %v; want a *SyncError naming only shop/bad", err)
			}
			if !strings.Contains(n.fake.Dump(), "10.96.0.1") || !strings.Contains(n.fake.Dump(), "203.0.113.1") {
				t.Fatalf("the good services are not programmed:\n%s", n.fake.Dump())
			}
			if !n.answers("web") || !n.answers("lb") {
				t.Fatal("DNS stopped answering a good service")
			}
			// Refused services are reported, not unhealthy (as the control
			// plane's Health): the node serves every other service.
			h := n.agent.Health()
			if ok, why := h.OK(); !ok || !errors.As(h.SyncErr, &serr) || n.agent.Stats().RefusedServices != 1 {
				t.Fatalf("Health().OK() = %v, %q, SyncErr %v; want ok, with shop/bad reported in SyncErr and Stats", ok, why, h.SyncErr)
			}
			// The bad service removed: nothing is reported any more, after an
			// incremental sync.
			fixed := resolved.State{Version: 2, Services: services(lb, good)}
			fixed.Sort()
			if err := n.agent.Apply(ctx, &fixed); err != nil {
				t.Fatalf("Apply after the fix = %v", err)
			}
			if h := n.agent.Health(); h.SyncErr != nil || n.agent.Stats().RefusedServices != 0 {
				t.Fatalf("Health after the fix: %v; want nothing refused", h.SyncErr)
			}
		})
	}
}

func TestNewNeedsDataplane(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a Dataplane succeeded; want an error")
	}
	var h Health
	if ok, why := h.OK(); ok || why == "" {
		t.Fatalf("zero Health OK = %v, %q; want not ok before the first sync", ok, why)
	}
}

// TestRunEndsItsGoroutines: Run applies what the delivery hands it and
// returns, with nothing left running (goleak in TestMain), when ctx ends.
func TestRunEndsItsGoroutines(t *testing.T) {
	n := newNode(t)
	var latest resolved.Latest
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	d := &asking{Latest: &latest, after: make(chan uint64, 8)}
	go func() { done <- n.agent.Run(ctx, d) }()
	st := resolved.State{Version: 1, Services: services(web(1, "10.96.0.1"))}
	if err := latest.Publish(ctx, &st); err != nil {
		t.Fatal(err)
	}
	for after := range d.after {
		if after == 1 { // the agent asks for what follows version 1: it applied it
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v; want nil after ctx ended", err)
	}
	if !n.answers("web") {
		t.Fatal("Run did not apply the published state")
	}
}

// asking is a Delivery that reports the version each Next call asks to
// follow.
type asking struct {
	*resolved.Latest
	after chan uint64
}

func (a *asking) Next(ctx context.Context, after uint64) (*resolved.State, error) {
	a.after <- after
	return a.Latest.Next(ctx, after)
}

// TestHealthRefusedIsReported: services left out (a *SyncError) are
// reported but keep the node healthy, as controlplane.Health.OK does; a
// failed kernel batch does not.
func TestHealthRefusedIsReported(t *testing.T) {
	now := time.Now()
	refused := Health{LastSync: now, SyncErr: &SyncError{Refused: map[resolved.Ref]error{{Namespace: "shop", Name: "bad"}: errors.New("0.0.0.0")}}}
	if ok, why := refused.OK(); !ok {
		t.Errorf("OK() with a service left out = false, %q; want true", why)
	}
	failed := Health{LastSync: now, SyncErr: errors.New("netlink: no buffer space")}
	if ok, why := failed.OK(); ok || !strings.Contains(why, "no buffer space") {
		t.Errorf("OK() after a failed kernel batch = %v, %q; want false with the reason", ok, why)
	}
}

// TestConsistentHashIsMaglev: a service that asks for consistent hashing
// is programmed with the dataplane's Maglev balancing; others keep the
// default.
func TestConsistentHashIsMaglev(t *testing.T) {
	s := web(1, "10.96.0.1", slice("a", 80, ep("10.0.0.1", up, "n1", "", "")))
	if got := AppendServicePorts(nil, &s, "n1", ""); got[0].Balancing != dataplane.Random {
		t.Errorf("Balancing without ConsistentHash = %v; want Random", got[0].Balancing)
	}
	s.ConsistentHash = true
	if got := AppendServicePorts(nil, &s, "n1", ""); got[0].Balancing != dataplane.Maglev {
		t.Errorf("Balancing with ConsistentHash = %v; want Maglev", got[0].Balancing)
	}
	n := newNode(t)
	st := resolved.State{Version: 1, Services: services(s)}
	if err := n.agent.Apply(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	if dump := n.fake.Dump(); !strings.Contains(dump, "jhash") {
		t.Errorf("the rendered ruleset has no Maglev (jhash) pick:\n%s", dump)
	}
}

// services returns pointers to svcs, for a State's Services.
func services(svcs ...resolved.Service) []*resolved.Service {
	out := make([]*resolved.Service, len(svcs))
	for i := range svcs {
		out[i] = &svcs[i]
	}
	return out
}
