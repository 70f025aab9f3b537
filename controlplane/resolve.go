package controlplane

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

// resolve allocates for one service and computes its slices, starting
// from the slices it had so that Reconcile keeps churn minimal.
func (c *ControlPlane) resolve(sv *Service, pods []endpoints.Workload) (*resolved.Service, error) {
	r := sv.Spec.Ref()
	alloc, err := c.cfg.Allocator.Allocate(r.String(), request(sv))
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", r, err)
	}
	s := sv.Spec // a copy; the slices below are new
	s.ClusterIPs, s.LoadBalancerIPs = alloc.ClusterIPs, alloc.LoadBalancerIPs
	if len(sv.LoadBalancerIngress) > 0 && s.Type == resolved.LoadBalancer {
		s.LoadBalancerIPs = sv.LoadBalancerIngress // what kube-proxy programs: the status
	}
	s.HealthCheckNodePort = alloc.HealthCheckNodePort
	s.IPFamilies = nil
	for _, f := range alloc.IPFamilies {
		s.IPFamilies = append(s.IPFamilies, resolved.IPFamily(f))
	}
	s.Ports = slices.Clone(sv.Spec.Ports)
	for i := range s.Ports {
		if i < len(alloc.NodePorts) {
			s.Ports[i].NodePort = alloc.NodePorts[i]
		}
	}
	if len(sv.Selector) > 0 {
		if s.Slices, err = c.slices(sv, &s, pods); err != nil {
			return nil, fmt.Errorf("service %s: %w", r, err)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// request is what the allocator needs of a service.
func request(sv *Service) allocator.ServiceRequest {
	sp := &sv.Spec
	req := allocator.ServiceRequest{
		Type: allocator.ServiceType(sp.Type), Headless: sp.Headless, ClusterIPs: sp.ClusterIPs,
		IPFamilyPolicy: sv.IPFamilyPolicy, NoLoadBalancerNodePorts: sv.NoLoadBalancerNodePorts,
		ExternalTrafficPolicy: allocator.TrafficPolicy(sp.ExternalTrafficPolicy),
		HealthCheckNodePort:   sp.HealthCheckNodePort, LoadBalancerIPs: sp.LoadBalancerIPs,
		LoadBalancerPool: sv.LoadBalancerPool, SharingKey: sv.SharingKey,
		ExternalLoadBalancer: len(sv.LoadBalancerIngress) > 0,
	}
	for _, f := range sp.IPFamilies {
		req.IPFamilies = append(req.IPFamilies, allocator.IPFamily(f))
	}
	for _, p := range sp.Ports {
		req.Ports = append(req.Ports, allocator.ServicePort{Name: p.Name, Protocol: allocator.Protocol(p.Protocol), Port: p.Port, NodePort: p.NodePort})
	}
	return req
}

// slices computes a selector service's endpoint slices from its pods,
// as a Reconcile plan applied to the slices it had.
func (c *ControlPlane) slices(sv *Service, s *resolved.Service, pods []endpoints.Workload) ([]endpoints.Slice, error) {
	es := endpoints.Service{
		Namespace: s.Namespace, Name: s.Name, Selector: sv.Selector, Labels: sv.Labels,
		Headless:                 s.Headless,
		PublishNotReadyAddresses: s.PublishNotReadyAddresses,
		TrafficDistribution:      endpoints.TrafficDistribution(s.TrafficDistribution),
	}
	for _, f := range s.Families() {
		es.Families = append(es.Families, endpoints.IPFamily(f))
	}
	for _, p := range s.Ports {
		es.Ports = append(es.Ports, endpoints.ServicePort{Name: p.Name, Protocol: endpoints.Protocol(p.Protocol), Port: p.Port,
			TargetPort: endpoints.TargetPort{Number: p.TargetPort, Name: p.TargetPortName}, AppProtocol: p.AppProtocol})
	}
	var have []endpoints.Slice
	if old := c.prev[s.Ref()]; old != nil {
		have = old.Slices
	}
	plan, err := endpoints.Reconcile(c.cfg.Endpoints, &es, endpoints.Desired(&es, pods), have)
	if err != nil {
		return nil, err
	}
	return applyPlan(have, &plan), nil
}

// applyPlan returns have with plan's deletes, updates and creates applied,
// sorted by name; have is not modified.
func applyPlan(have []endpoints.Slice, plan *endpoints.Plan) []endpoints.Slice {
	out := make([]endpoints.Slice, 0, len(have)+len(plan.Create))
	for _, sl := range have {
		if slices.Contains(plan.Delete, sl.Name) {
			continue
		}
		if i := slices.IndexFunc(plan.Update, func(u endpoints.Slice) bool { return u.Name == sl.Name }); i >= 0 {
			sl = plan.Update[i]
		}
		out = append(out, sl)
	}
	out = append(out, plan.Create...)
	slices.SortFunc(out, func(a, b endpoints.Slice) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// equalResolved reports whether two resolved forms of a service are the
// same, revisions aside: then the service keeps its revision and node
// agents skip it.
func equalResolved(a, b *resolved.Service) bool {
	x, y := *a, *b
	x.Revision, y.Revision = 0, 0
	return reflect.DeepEqual(x, y)
}
