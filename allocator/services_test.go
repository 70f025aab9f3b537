package allocator

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// The rules below follow Kubernetes 1.37 (pkg/registry/core/service/storage and
// ipallocator/portallocator of k8s.io/kubernetes v1.37.x): field defaulting of
// ipFamilies/ipFamilyPolicy, node ports kept by port name, node ports shared by one
// port number across protocols, a health-check node port only for LoadBalancer with
// externalTrafficPolicy Local, and the clusterIP immutable for a service's life.

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func testServices(t testing.TB, dual, lb bool, grace time.Duration) (*Services, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	cfg := ServicesConfig{
		ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/24")},
		NodePortRange:   "30000-30099",
		GracePeriod:     grace,
		Now:             clock.now,
		Range:           Config{Strategy: LowestFree},
	}
	if dual {
		cfg.ClusterIPRanges = append(cfg.ClusterIPRanges, netip.MustParsePrefix("fd00:96::/112"))
	}
	if lb {
		a, err := NewLBAllocator(
			Pool{Name: "v4", Addresses: []AddrRange{MustParseAddrRange("192.0.2.10-192.0.2.12")}},
			Pool{Name: "v6", Addresses: []AddrRange{MustParseAddrRange("2001:db8::10-2001:db8::12")}},
		)
		if err != nil {
			t.Fatal(err)
		}
		cfg.LoadBalancer = a
	}
	s, err := NewServices(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, clock
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func web(typ ServiceType) ServiceRequest {
	return ServiceRequest{Type: typ, Ports: []ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443}}}
}

func TestServicesCreate(t *testing.T) {
	tests := []struct {
		name    string
		dual    bool
		req     ServiceRequest
		want    ServiceAllocation
		wantErr error
	}{
		{name: "ClusterIP gets one address of the primary family and no node ports", req: web(ClusterIP),
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{0, 0}}},
		{name: "NodePort gets a node port per port", req: web(NodePort),
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30016, 30017}}},
		{name: "requested clusterIP and nodePort are honoured, static band included", req: ServiceRequest{Type: NodePort, ClusterIPs: addrs("10.96.0.5"), Ports: []ServicePort{{Port: 80, NodePort: 30001}}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.5"), NodePorts: []uint16{30001}}},
		{name: "requested clusterIP outside the range is ErrNotInRange", req: ServiceRequest{ClusterIPs: addrs("10.97.0.5")}, wantErr: ErrNotInRange},
		{name: "requested nodePort outside the range is ErrNotInRange", req: ServiceRequest{Type: NodePort, Ports: []ServicePort{{Port: 80, NodePort: 31000}}}, wantErr: ErrNotInRange},
		{name: "nodePort on type ClusterIP is dropped with the type", req: ServiceRequest{Ports: []ServicePort{{Port: 80, NodePort: 30001}}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{0}}},
		{name: "one port number over two protocols shares a node port", req: ServiceRequest{Type: NodePort, Ports: []ServicePort{{Name: "dns", Port: 53, Protocol: UDP}, {Name: "dns-tcp", Port: 53}}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30016, 30016}}},
		{name: "two ports with one name are invalid", req: ServiceRequest{Ports: []ServicePort{{Port: 80}, {Port: 81}}}, wantErr: ErrInvalidService},
		{name: "headless gets families but no address", req: ServiceRequest{Headless: true},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}}},
		{name: "ExternalName gets nothing", req: ServiceRequest{Type: ExternalName}},
		{name: "SingleStack asking for an unconfigured family is refused", req: ServiceRequest{IPFamilies: []IPFamily{IPv6}}, wantErr: ErrFamilyNotConfigured},
		{name: "RequireDualStack on a single-stack cluster is refused", req: ServiceRequest{IPFamilyPolicy: RequireDualStack}, wantErr: ErrFamilyNotConfigured},
		{name: "PreferDualStack on a single-stack cluster is single-stack", req: ServiceRequest{IPFamilyPolicy: PreferDualStack},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17")}},
		{name: "PreferDualStack on a dual-stack cluster gets both families, primary first", dual: true, req: ServiceRequest{IPFamilyPolicy: PreferDualStack},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4, IPv6}, ClusterIPs: addrs("10.96.0.17", "fd00:96::101")}},
		{name: "RequireDualStack with ipFamilies IPv6 first makes IPv6 primary", dual: true, req: ServiceRequest{IPFamilyPolicy: RequireDualStack, IPFamilies: []IPFamily{IPv6}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv6, IPv4}, ClusterIPs: addrs("fd00:96::101", "10.96.0.17")}},
		{name: "the family of a requested clusterIP sets ipFamilies", dual: true, req: ServiceRequest{ClusterIPs: addrs("fd00:96::7")},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv6}, ClusterIPs: addrs("fd00:96::7")}},
		{name: "SingleStack with two families is invalid", dual: true, req: ServiceRequest{IPFamilies: []IPFamily{IPv4, IPv6}}, wantErr: ErrInvalidService},
		{name: "clusterIPs and ipFamilies that disagree are invalid", dual: true, req: ServiceRequest{IPFamilyPolicy: RequireDualStack, IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("fd00:96::7")}, wantErr: ErrInvalidService},
		{name: "LoadBalancer with externalTrafficPolicy Local gets a health-check node port", req: ServiceRequest{Type: LoadBalancer, ExternalTrafficPolicy: PolicyLocal, Ports: []ServicePort{{Port: 80}}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30016}, HealthCheckNodePort: 30017}},
		{name: "NodePort with externalTrafficPolicy Local gets no health-check node port", req: ServiceRequest{Type: NodePort, ExternalTrafficPolicy: PolicyLocal, Ports: []ServicePort{{Port: 80}}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30016}}},
		{name: "allocateLoadBalancerNodePorts false allocates none but honours requests", req: ServiceRequest{Type: LoadBalancer, NoLoadBalancerNodePorts: true, Ports: []ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 81, NodePort: 30050}}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{0, 30050}}},
		{name: "health-check node port equal to a node port is refused", req: ServiceRequest{Type: LoadBalancer, ExternalTrafficPolicy: PolicyLocal, HealthCheckNodePort: 30001, Ports: []ServicePort{{Port: 80, NodePort: 30001}}}, wantErr: ErrAllocated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := testServices(t, tt.dual, false, 0)
			got, err := s.Allocate("ns/svc", tt.req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Allocate = %+v, %v; want error %v", got, err, tt.wantErr)
			}
			if err != nil {
				if s.ports.Used() != 0 || s.ips[0].Used() != 0 || s.Len() != 0 {
					t.Errorf("failed Allocate left something allocated")
				}
				return
			}
			if !allocEqual(got, tt.want) {
				t.Errorf("Allocate = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func allocEqual(a, b ServiceAllocation) bool {
	return slices.Equal(a.IPFamilies, b.IPFamilies) && slices.Equal(a.ClusterIPs, b.ClusterIPs) &&
		slices.Equal(a.NodePorts, b.NodePorts) && a.HealthCheckNodePort == b.HealthCheckNodePort &&
		slices.Equal(a.LoadBalancerIPs, b.LoadBalancerIPs)
}

func TestServicesUpdate(t *testing.T) {
	lbLocal := ServiceRequest{Type: LoadBalancer, ExternalTrafficPolicy: PolicyLocal, Ports: []ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443}}}
	tests := []struct {
		name    string
		dual    bool
		before  ServiceRequest
		after   ServiceRequest
		want    ServiceAllocation
		wantErr error
		used    uint64 // node ports held afterwards
	}{
		{name: "same request gives the same answer", before: web(NodePort), after: web(NodePort),
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30016, 30017}}, used: 2},
		{name: "ClusterIP to NodePort keeps the ClusterIP and adds node ports", before: web(ClusterIP), after: web(NodePort),
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30016, 30017}}, used: 2},
		{name: "NodePort to ClusterIP releases the node ports", before: web(NodePort), after: web(ClusterIP),
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{0, 0}}, used: 0},
		{name: "to ExternalName releases the ClusterIP and node ports", before: web(NodePort), after: ServiceRequest{Type: ExternalName}, used: 0},
		{name: "ExternalName to ClusterIP allocates a ClusterIP", before: ServiceRequest{Type: ExternalName}, after: web(ClusterIP),
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{0, 0}}},
		{name: "a requested change of the ClusterIP is refused", before: web(ClusterIP), after: ServiceRequest{ClusterIPs: addrs("10.96.0.99")}, wantErr: ErrImmutable, used: 0},
		{name: "repeating the held ClusterIP is no change", before: web(ClusterIP), after: ServiceRequest{ClusterIPs: addrs("10.96.0.17")},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17")}},
		{name: "headless cannot become a ClusterIP service", before: ServiceRequest{Headless: true}, after: ServiceRequest{}, wantErr: ErrImmutable},
		{name: "a port removed releases its node port", before: web(NodePort), after: ServiceRequest{Type: NodePort, Ports: []ServicePort{{Name: "https", Port: 443}}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30017}}, used: 1},
		{name: "a port keeps its node port by name when its number changes", before: web(NodePort), after: ServiceRequest{Type: NodePort, Ports: []ServicePort{{Name: "https", Port: 8443}, {Name: "http", Port: 8080}}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30017, 30016}}, used: 2},
		{name: "a requested node port change takes the new one and frees the old", before: web(NodePort), after: ServiceRequest{Type: NodePort, Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30005}, {Name: "https", Port: 443}}},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30005, 30017}}, used: 2},
		{name: "SingleStack to PreferDualStack adds the secondary family", dual: true, before: ServiceRequest{}, after: ServiceRequest{IPFamilyPolicy: PreferDualStack},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4, IPv6}, ClusterIPs: addrs("10.96.0.17", "fd00:96::101")}},
		{name: "dual-stack to SingleStack drops the secondary family", dual: true, before: ServiceRequest{IPFamilyPolicy: RequireDualStack}, after: ServiceRequest{},
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17")}},
		{name: "the primary family cannot change", dual: true, before: ServiceRequest{}, after: ServiceRequest{IPFamilies: []IPFamily{IPv6}}, wantErr: ErrImmutable},
		{name: "externalTrafficPolicy Local to Cluster releases the health-check node port", before: lbLocal, after: web(LoadBalancer),
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30016, 30017}}, used: 2},
		{name: "a held health-check node port cannot change", before: lbLocal, after: func() ServiceRequest { r := lbLocal; r.HealthCheckNodePort = 30050; return r }(), wantErr: ErrImmutable, used: 3},
		{name: "allocateLoadBalancerNodePorts set false keeps the node ports held", before: web(LoadBalancer), after: func() ServiceRequest { r := web(LoadBalancer); r.NoLoadBalancerNodePorts = true; return r }(),
			want: ServiceAllocation{IPFamilies: []IPFamily{IPv4}, ClusterIPs: addrs("10.96.0.17"), NodePorts: []uint16{30016, 30017}}, used: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := testServices(t, tt.dual, false, 0)
			first, err := s.Allocate("ns/svc", tt.before)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Allocate("ns/svc", tt.after)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Allocate(after) = %+v, %v; want error %v", got, err, tt.wantErr)
			}
			if err != nil {
				if now, _ := s.Get("ns/svc"); !allocEqual(now, first) {
					t.Errorf("failed update changed the service: %+v; want %+v", now, first)
				}
			} else if !allocEqual(got, tt.want) {
				t.Errorf("Allocate(after) = %+v; want %+v", got, tt.want)
			}
			if s.ports.Used() != tt.used {
				t.Errorf("node ports held = %d; want %d", s.ports.Used(), tt.used)
			}
			var ips uint64
			for _, r := range s.ips {
				if r != nil {
					ips += r.Used()
				}
			}
			cur, _ := s.Get("ns/svc")
			if ips != uint64(len(cur.ClusterIPs)) {
				t.Errorf("ClusterIPs held = %d; want %d (%v)", ips, len(cur.ClusterIPs), cur.ClusterIPs)
			}
		})
	}
}

// TestServicesGracePeriod: a service that disappears keeps its allocation for the
// grace period and comes back with the same values (issue 13: a manifest cut and
// rewritten); only a service gone for longer is released.
func TestServicesGracePeriod(t *testing.T) {
	s, clock := testServices(t, true, true, time.Minute)
	req := ServiceRequest{Type: LoadBalancer, IPFamilyPolicy: PreferDualStack, ExternalTrafficPolicy: PolicyLocal, Ports: []ServicePort{{Port: 80}}}
	first, err := s.Allocate("ns/web", req)
	if err != nil {
		t.Fatal(err)
	}
	s.Release("ns/web")
	clock.t = clock.t.Add(59 * time.Second)
	if gone := s.Expire(clock.t); len(gone) != 0 {
		t.Fatalf("Expire within the grace period freed %v", gone)
	}
	// Another service cannot take the held values meanwhile.
	if _, err := s.Allocate("ns/thief", ServiceRequest{ClusterIPs: first.ClusterIPs[:1]}); !errors.Is(err, ErrAllocated) {
		t.Errorf("Allocate(held ClusterIP) = %v; want ErrAllocated", err)
	}
	again, err := s.Allocate("ns/web", req)
	if err != nil || !allocEqual(again, first) {
		t.Fatalf("Allocate after coming back = %+v, %v; want %+v", again, err, first)
	}
	s.Release("ns/web")
	clock.t = clock.t.Add(30 * time.Second)
	s.Release("ns/web") // a second release keeps the first time
	clock.t = clock.t.Add(30 * time.Second)
	if gone := s.Expire(clock.t); !slices.Equal(gone, []string{"ns/web"}) {
		t.Fatalf("Expire after the grace period = %v; want [ns/web]", gone)
	}
	if _, ok := s.Get("ns/web"); ok || s.ports.Used() != 0 || s.ips[0].Used() != 0 || s.ips[1].Used() != 0 || s.lb.Addrs("ns/web") != nil {
		t.Errorf("expired service still holds values")
	}
	if DefaultGracePeriod != 2*time.Minute {
		t.Errorf("DefaultGracePeriod = %v; the documented default is 2m", DefaultGracePeriod)
	}
	now, _ := testServices(t, false, false, -1)
	_, _ = now.Allocate("a", web(NodePort))
	now.Release("a")
	if now.Len() != 0 || now.ports.Used() != 0 {
		t.Errorf("negative grace period kept the service")
	}
}

func TestServicesLoadBalancer(t *testing.T) {
	s, _ := testServices(t, true, true, 0)
	req := ServiceRequest{Type: LoadBalancer, IPFamilyPolicy: RequireDualStack, Ports: []ServicePort{{Port: 80}}, LoadBalancerIPs: addrs("2001:db8::12")}
	got, err := s.Allocate("ns/web", req)
	if err != nil {
		t.Fatal(err)
	}
	if want := addrs("192.0.2.10", "2001:db8::12"); !slices.Equal(got.LoadBalancerIPs, want) {
		t.Errorf("LoadBalancerIPs = %v; want %v (one per family, requested honoured)", got.LoadBalancerIPs, want)
	}
	// The pool has three IPv4 addresses: the fourth dual-stack service fails on the
	// load balancer after its ClusterIPs and node ports were taken; nothing is left.
	for _, k := range []string{"b", "c"} {
		if _, err := s.Allocate(k, ServiceRequest{Type: LoadBalancer, Ports: []ServicePort{{Port: 80}}}); err != nil {
			t.Fatal(err)
		}
	}
	ports, ips := s.ports.Used(), s.ips[0].Used()
	if _, err := s.Allocate("d", ServiceRequest{Type: LoadBalancer, Ports: []ServicePort{{Port: 80}}}); !errors.Is(err, ErrPoolFull) {
		t.Fatalf("Allocate with the pool full = %v; want ErrPoolFull", err)
	}
	if s.ports.Used() != ports || s.ips[0].Used() != ips {
		t.Errorf("failed Allocate left node ports %d→%d, ClusterIPs %d→%d", ports, s.ports.Used(), ips, s.ips[0].Used())
	}
	// An update that fails on the load balancer keeps the old addresses.
	bad := req
	bad.LoadBalancerIPs = addrs("192.0.2.11") // held by b
	if _, err := s.Allocate("ns/web", bad); !errors.Is(err, ErrInUse) {
		t.Fatalf("Allocate(taken LB address) = %v; want ErrInUse", err)
	}
	if cur, _ := s.Get("ns/web"); !allocEqual(cur, got) || !slices.Equal(s.lb.Addrs("ns/web"), got.LoadBalancerIPs) {
		t.Errorf("failed update changed LB addresses: %v, allocator %v; want %v", cur.LoadBalancerIPs, s.lb.Addrs("ns/web"), got.LoadBalancerIPs)
	}
	// LoadBalancer to ClusterIP gives the addresses back.
	if _, err := s.Allocate("ns/web", ServiceRequest{IPFamilyPolicy: RequireDualStack, Ports: []ServicePort{{Port: 80}}}); err != nil {
		t.Fatal(err)
	}
	if s.lb.Addrs("ns/web") != nil {
		t.Errorf("LoadBalancer to ClusterIP kept %v", s.lb.Addrs("ns/web"))
	}
}

// TestServicesExternalLoadBalancer: a service whose addresses an outside
// load-balancer controller set (status.loadBalancer.ingress) takes none from
// the pool, and gives back what it held when the outside controller takes over.
func TestServicesExternalLoadBalancer(t *testing.T) {
	s, _ := testServices(t, false, true, 0)
	req := ServiceRequest{Type: LoadBalancer, Ports: []ServicePort{{Port: 80}}}
	if got, err := s.Allocate("ns/a", req); err != nil || len(got.LoadBalancerIPs) != 1 {
		t.Fatalf("Allocate = %+v, %v; want one pool address", got, err)
	}
	req.ExternalLoadBalancer = true
	got, err := s.Allocate("ns/a", req)
	if err != nil || len(got.LoadBalancerIPs) != 0 || len(got.NodePorts) != 1 || got.NodePorts[0] == 0 {
		t.Fatalf("Allocate(ExternalLoadBalancer) = %+v, %v; want node ports and no pool address", got, err)
	}
	if s.lb.Addrs("ns/a") != nil {
		t.Errorf("pool still holds %v for a service with an outside load balancer", s.lb.Addrs("ns/a"))
	}
	if got, err := s.Allocate("ns/b", req); err != nil || len(got.LoadBalancerIPs) != 0 {
		t.Errorf("Allocate(new, ExternalLoadBalancer) = %+v, %v; want no pool address", got, err)
	}
}

// TestServicesKeys: Keys lists every key holding values, released ones in
// their grace period included, sorted.
func TestServicesKeys(t *testing.T) {
	s, clock := testServices(t, false, false, time.Minute)
	if k := s.Keys(); len(k) != 0 {
		t.Fatalf("Keys() of an empty Services = %v", k)
	}
	for _, k := range []string{"ns/c", "ns/a", "ns/b"} {
		if _, err := s.Allocate(k, web(ClusterIP)); err != nil {
			t.Fatal(err)
		}
	}
	s.Release("ns/b")
	if k := s.Keys(); !slices.Equal(k, []string{"ns/a", "ns/b", "ns/c"}) {
		t.Errorf("Keys() = %v; want [ns/a ns/b ns/c]", k)
	}
	clock.t = clock.t.Add(time.Minute)
	s.Expire(clock.t)
	if k := s.Keys(); !slices.Equal(k, []string{"ns/a", "ns/c"}) {
		t.Errorf("Keys() after expiry = %v; want [ns/a ns/c]", k)
	}
}

// TestServicesGeneration: Generation changes exactly when a Snapshot
// would: a repeated request with the same answer leaves it alone, so a
// caller skips encoding a snapshot it already persisted.
func TestServicesGeneration(t *testing.T) {
	s, clock := testServices(t, false, false, time.Minute)
	steps := []struct {
		name   string
		do     func()
		change bool
	}{
		{"new service", func() { _, _ = s.Allocate("ns/a", web(NodePort)) }, true},
		{"same request again", func() { _, _ = s.Allocate("ns/a", web(NodePort)) }, false},
		{"type change releases node ports", func() { _, _ = s.Allocate("ns/a", web(ClusterIP)) }, true},
		{"a new ExternalName service holding nothing", func() { _, _ = s.Allocate("ns/x", ServiceRequest{Type: ExternalName}) }, true},
		{"failed request", func() { _, _ = s.Allocate("ns/b", ServiceRequest{Ports: []ServicePort{{Port: 0}}}) }, false},
		{"release", func() { s.Release("ns/a") }, true},
		{"release again", func() { s.Release("ns/a") }, false},
		{"expire within the grace period", func() { s.Expire(clock.t) }, false},
		{"expire after it", func() { s.Expire(clock.t.Add(time.Minute)) }, true},
		{"restore", func() {
			if err := s.Restore(s.Snapshot()); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, st := range steps {
		before, snap := s.Generation(), s.Snapshot()
		st.do()
		if changed := s.Generation() != before; changed != st.change {
			t.Errorf("%s: Generation changed = %v; want %v", st.name, changed, st.change)
		}
		if !st.change && !slices.Equal(snap, s.Snapshot()) {
			t.Errorf("%s: Snapshot changed while Generation did not", st.name)
		}
	}
}
