package replica

import (
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/resolved"
)

// Report is what a repair pass found. The zero value is a clean pass.
type Report struct {
	// Remarked are published Services the allocator did not hold: their
	// published values were allocated again under their names, so no other
	// service can be given them while nodes still route them.
	Remarked []string
	// Conflicts are published values claimed by two published Services, or
	// that the allocator gives to another service. They are reported, never
	// reassigned by guessing: the leader's next publish carries what the
	// allocator holds.
	Conflicts []error
}

// repair reconciles alloc with the published Services, as Kubernetes'
// repair controllers reconcile the allocator with the Services that hold
// values. current is the latest input's service names: one re-marked but
// no longer wanted is released to the grace period at once, not leaked.
// A nil current (at takeover, before any input) releases nothing: the
// control plane's first Resolve releases every restored service its
// source no longer has.
func repair(alloc *allocator.Services, published []resolved.Service, current map[string]bool) Report {
	rep := Report{Conflicts: duplicates(published)}
	for i := range published {
		s := &published[i]
		key := s.Ref().String()
		if _, ok := alloc.Get(key); ok {
			continue
		}
		if _, err := alloc.Allocate(key, request(s)); err != nil {
			rep.Conflicts = append(rep.Conflicts, fmt.Errorf("published service %s: %w", key, err))
			continue
		}
		rep.Remarked = append(rep.Remarked, key)
		if current != nil && !current[key] {
			alloc.Release(key)
		}
	}
	return rep
}

// duplicates returns an error for each ClusterIP or node port that two
// published Services claim. LoadBalancer addresses are left out: MetalLB's
// sharing rules let services share one.
func duplicates(published []resolved.Service) []error {
	var errs []error
	ips := map[netip.Addr]string{}
	ports := map[uint16]string{}
	for i := range published {
		s := &published[i]
		key := s.Ref().String()
		for _, a := range s.ClusterIPs {
			if other, ok := ips[a]; ok && other != key {
				errs = append(errs, fmt.Errorf("ClusterIP %s: published for %s and %s", a, other, key))
			}
			ips[a] = key
		}
		for _, p := range nodePorts(s) {
			if other, ok := ports[p]; ok && other != key {
				errs = append(errs, fmt.Errorf("node port %d: published for %s and %s", p, other, key))
			}
			ports[p] = key
		}
	}
	return errs
}

func nodePorts(s *resolved.Service) []uint16 {
	var out []uint16
	for _, p := range s.Ports {
		if p.NodePort != 0 {
			out = append(out, p.NodePort)
		}
	}
	if s.HealthCheckNodePort != 0 {
		out = append(out, s.HealthCheckNodePort)
	}
	return out
}

// request asks the allocator for exactly the values s was published with.
func request(s *resolved.Service) allocator.ServiceRequest {
	req := allocator.ServiceRequest{
		Type: allocator.ServiceType(s.Type), Headless: s.Headless, ClusterIPs: s.ClusterIPs,
		ExternalTrafficPolicy: allocator.TrafficPolicy(s.ExternalTrafficPolicy),
		HealthCheckNodePort:   s.HealthCheckNodePort, LoadBalancerIPs: s.LoadBalancerIPs,
		NoLoadBalancerNodePorts: s.Type == resolved.LoadBalancer && len(nodePorts(s)) == 0,
	}
	for _, f := range s.IPFamilies {
		req.IPFamilies = append(req.IPFamilies, allocator.IPFamily(f))
	}
	if len(req.IPFamilies) > 1 || len(s.ClusterIPs) > 1 {
		req.IPFamilyPolicy = allocator.RequireDualStack
	}
	for _, p := range s.Ports {
		req.Ports = append(req.Ports, allocator.ServicePort{Name: p.Name, Protocol: allocator.Protocol(p.Protocol), Port: p.Port, NodePort: p.NodePort})
	}
	return req
}
