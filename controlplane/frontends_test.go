package controlplane

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

var ref = func(name string) resolved.Ref { return resolved.Ref{Namespace: "shop", Name: name} }

// TestHeadlessSlicesCarryLabel: the slices of a headless service
// (clusterIP: None) carry service.kubernetes.io/headless, as Kubernetes'
// EndpointSlice controller sets it (1.37).
func TestHeadlessSlicesCarryLabel(t *testing.T) {
	cp, _ := newCP(t, Config{})
	db := Service{Spec: resolved.Service{Namespace: "shop", Name: "db", Headless: true, Ports: []resolved.Port{{Name: "sql", Port: 5432}}},
		Selector: map[string]string{"app": "db"}}
	web := lbService("web")
	st := mustResolve(t, cp, Input{Services: []Service{db, web},
		Workloads: []endpoints.Workload{pod("db-0", "db", "10.244.0.7"), pod("web-0", "web", "10.244.0.8")}})
	sl := st.Lookup(ref("db")).Slices
	if len(sl) != 1 {
		t.Fatalf("db has %d slices; want 1", len(sl))
	}
	if _, ok := sl[0].Labels[endpoints.LabelHeadless]; !ok {
		t.Errorf("headless service's slice labels %v; want %s", sl[0].Labels, endpoints.LabelHeadless)
	}
	if _, ok := st.Lookup(ref("web")).Slices[0].Labels[endpoints.LabelHeadless]; ok {
		t.Errorf("a service with a ClusterIP has slices labelled headless")
	}
}

// TestLoadBalancerIngress: status.loadBalancer.ingress set by an outside
// load-balancer controller is what the service's LoadBalancer addresses
// are (kube-proxy programs the status, Kubernetes 1.37), and the pool is
// not used for it.
func TestLoadBalancerIngress(t *testing.T) {
	cp, _ := newCP(t, Config{})
	ext := lbService("ext")
	ingress := []netip.Addr{netip.MustParseAddr("192.0.2.50")}
	ext.LoadBalancerIngress = ingress
	st := mustResolve(t, cp, Input{Services: []Service{ext}})
	if got := st.Lookup(ref("ext")).LoadBalancerIPs; !slices.Equal(got, ingress) {
		t.Fatalf("LoadBalancerIPs = %v; want the ingress %v", got, ingress)
	}
	// The pool (203.0.113.0/28) gave nothing to ext: its first address is
	// free for the next service.
	next := lbService("next")
	next.Spec.LoadBalancerIPs = []netip.Addr{netip.MustParseAddr("203.0.113.0")}
	st = mustResolve(t, cp, Input{Services: []Service{ext, next}})
	if got := st.Lookup(ref("next")).LoadBalancerIPs; len(got) != 1 || got[0] != next.Spec.LoadBalancerIPs[0] {
		t.Errorf("next got %v; want 203.0.113.0, unused by a service with an outside load balancer", got)
	}
	// Ingress on a type that is not LoadBalancer means nothing.
	plain := ext
	plain.Spec.Type = resolved.ClusterIP
	plain.Spec.Name = "plain"
	if got := mustResolve(t, cp, Input{Services: []Service{ext, next, plain}}).Lookup(ref("plain")).LoadBalancerIPs; len(got) != 0 {
		t.Errorf("a ClusterIP service with ingress has LoadBalancerIPs %v; want none", got)
	}
}

// TestRestoredServicesNotSeenAreReleased (issue 13): services restored
// from a snapshot that the source no longer has after a restart are
// released into the grace period by the first Resolve, and their
// ClusterIP and NodePort are free once it has run out.
func TestRestoredServicesNotSeenAreReleased(t *testing.T) {
	before, _ := newCP(t, Config{})
	svcs := []Service{lbService("a"), lbService("b"), lbService("gone")}
	st := mustResolve(t, before, Input{Services: svcs})
	gone := *st.Lookup(ref("gone"))
	snap := before.cfg.Allocator.Snapshot()

	cp, clk := newCP(t, Config{})
	if err := cp.cfg.Allocator.Restore(snap); err != nil {
		t.Fatal(err)
	}
	mustResolve(t, cp, Input{Services: svcs[:2]})
	thief := lbService("thief")
	thief.Spec.ClusterIPs = gone.ClusterIPs
	thief.Spec.Ports[0].NodePort = gone.Ports[0].NodePort
	thief.Spec.LoadBalancerIPs = gone.LoadBalancerIPs
	// Within the grace period the values are still held...
	if _, err := cp.Resolve(Input{Services: []Service{svcs[0], svcs[1], thief}}); !errors.Is(err, allocator.ErrAllocated) {
		t.Fatalf("Resolve(thief within the grace period) = %v; want ErrAllocated", err)
	}
	// ...and after it they are free.
	clk.t = clk.t.Add(time.Minute + time.Second)
	st = mustResolve(t, cp, Input{Services: []Service{svcs[0], svcs[1], thief}})
	got := st.Lookup(ref("thief"))
	if got == nil || got.ClusterIPs[0] != gone.ClusterIPs[0] || got.Ports[0].NodePort != gone.Ports[0].NodePort {
		t.Fatalf("thief = %+v; want gone's ClusterIP %v and NodePort %d, freed", got, gone.ClusterIPs, gone.Ports[0].NodePort)
	}
	if _, ok := cp.cfg.Allocator.Get("shop/gone"); ok {
		t.Error("shop/gone still holds an allocation after the grace period")
	}
}

// TestFrontendConflicts (issue 13): a service claiming a frontend
// (address, port, protocol) another service holds is refused, whatever the
// order the source lists them in; the established service keeps serving.
func TestFrontendConflicts(t *testing.T) {
	ext := func(a string) func(*Service) {
		return func(s *Service) { s.Spec.ExternalIPs = append(s.Spec.ExternalIPs, netip.MustParseAddr(a)) }
	}
	tests := []struct {
		name string
		// edit makes the newcomer "new" collide with "old" (ClusterIP
		// 10.96.0.10, LoadBalancer address 203.0.113.9, external IP
		// 198.51.100.1, port 80/TCP).
		edit func(*Service)
		ok   bool
	}{
		{"external IP on another service's ClusterIP:port", ext("10.96.0.10"), false},
		{"external IP on another service's LoadBalancer address:port", ext("203.0.113.9"), false},
		{"two services on one external IP:port", ext("198.51.100.1"), false},
		{"one external IP listed as the service's own LoadBalancer address", func(s *Service) {
			s.Spec.LoadBalancerIPs = []netip.Addr{netip.MustParseAddr("203.0.113.4")}
			ext("203.0.113.4")(s)
		}, false},
		{"another port on another service's external IP is fine", func(s *Service) {
			ext("198.51.100.1")(s)
			s.Spec.Ports[0].Port = 8080
		}, true},
		{"the same port and address with another protocol is fine", func(s *Service) {
			ext("198.51.100.1")(s)
			s.Spec.Ports[0].Protocol = resolved.UDP
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cp, _ := newCP(t, Config{ExternalIPs: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}})
			old := lbService("old")
			old.Spec.ClusterIPs = []netip.Addr{netip.MustParseAddr("10.96.0.10")}
			old.Spec.LoadBalancerIPs = []netip.Addr{netip.MustParseAddr("203.0.113.9")}
			ext("198.51.100.1")(&old)
			mustResolve(t, cp, Input{Services: []Service{old}})
			nw := lbService("a-new") // sorts and is listed first
			tc.edit(&nw)
			st, err := cp.Resolve(Input{Services: []Service{nw, old}})
			if tc.ok {
				if err != nil || st.Lookup(ref("a-new")) == nil {
					t.Fatalf("Resolve = %v; want a-new published", err)
				}
				return
			}
			if !errors.Is(err, ErrConflict) || cp.Health().Refused[ref("a-new")] == nil || len(cp.Health().Refused) != 1 {
				t.Fatalf("Resolve = %v, refused %v; want only shop/a-new refused with ErrConflict", err, cp.Health().Refused)
			}
			if st.Lookup(ref("old")) == nil || st.Lookup(ref("a-new")) != nil {
				t.Fatalf("published %v; want old and not a-new", st.Services)
			}
			if ok, why := cp.Health().OK(); !ok {
				t.Fatalf("Health().OK() = false, %q; refused services are reported, not unhealthy", why)
			}
			// Once old is gone, the newcomer is served.
			if strings.Contains(tc.name, "own") {
				return // its clash is with itself
			}
			if st, err := cp.Resolve(Input{Services: []Service{nw}}); err != nil || st.Lookup(ref("a-new")) == nil {
				t.Fatalf("Resolve without old = %v; want a-new published", err)
			}
		})
	}
}

// TestReuseSeesEveryChange: Resolve reuses a service whose spec and pods
// are unchanged, so every change to either must still reach the state.
func TestReuseSeesEveryChange(t *testing.T) {
	base := func() Input {
		return Input{Services: []Service{lbService("web"), lbService("api")},
			Workloads: []endpoints.Workload{pod("web-0", "web", "10.244.0.2"), pod("api-0", "api", "10.244.0.3")}}
	}
	tests := []struct {
		name  string
		edit  func(*Input)
		check func(*resolved.Service) bool
	}{
		{"pod not ready", func(in *Input) { in.Workloads[0].Ready = false },
			func(s *resolved.Service) bool { return !s.Slices[0].Endpoints[0].Conditions.Ready }},
		{"pod address", func(in *Input) { in.Workloads[0].IPs = []netip.Addr{netip.MustParseAddr("10.244.0.9")} },
			func(s *resolved.Service) bool {
				return s.Slices[0].Endpoints[0].Address == netip.MustParseAddr("10.244.0.9")
			}},
		{"service port", func(in *Input) { in.Services[0].Spec.Ports = []resolved.Port{{Name: "http", Port: 8080}} },
			func(s *resolved.Service) bool { return s.Ports[0].Port == 8080 }},
		{"selector", func(in *Input) { in.Services[0].Selector = map[string]string{"app": "api"} },
			func(s *resolved.Service) bool {
				return s.Slices[0].Endpoints[0].Address == netip.MustParseAddr("10.244.0.3")
			}},
		{"slice labels", func(in *Input) { in.Services[0].Labels = map[string]string{"team": "a"} },
			func(s *resolved.Service) bool { return s.Slices[0].Labels["team"] == "a" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cp, _ := newCP(t, Config{})
			st1 := mustResolve(t, cp, base())
			in := base() // new slices and maps for the changed object, as the Input contract asks
			tc.edit(&in)
			st2 := mustResolve(t, cp, in)
			web, api := st2.Lookup(ref("web")), st2.Lookup(ref("api"))
			if !tc.check(web) || web.Revision == st1.Lookup(ref("web")).Revision {
				t.Fatalf("web after the change: %+v; want the change, with a new revision", web)
			}
			if api.Revision != st1.Lookup(ref("api")).Revision {
				t.Errorf("api's revision changed %d -> %d; want it reused", st1.Lookup(ref("api")).Revision, api.Revision)
			}
		})
	}
}
