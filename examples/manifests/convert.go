package manifests

import (
	"github.com/svcnet/svcnet/endpoints"
)

// The conversions below are the ones every consumer of a Set writes to feed
// the endpoints package (and through it the control plane); they live here
// so that none of them is private to one program.

// Workload returns the pod as the endpoints package reads it. zone is the
// zone of the pod's node (see [Set.Zones]); empty means unknown.
func (p *Pod) Workload(zone string) endpoints.Workload {
	w := endpoints.Workload{
		Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, IPs: p.IPs,
		Node: p.Node, Zone: zone, Hostname: p.Hostname, Subdomain: p.Subdomain,
		Phase: endpoints.Phase(p.Phase), Ready: p.Ready, Deleting: p.Deleting,
	}
	if len(p.Ports) > 0 {
		w.Ports = make([]endpoints.ContainerPort, len(p.Ports))
		for i, cp := range p.Ports {
			w.Ports[i] = endpoints.ContainerPort(cp)
		}
	}
	return w
}

// Slice returns the EndpointSlice as the endpoints package holds it, with
// each endpoint's first address only, the one Kubernetes programs. ok is
// false for an FQDN slice, which has no address to program; kube-proxy
// ignores those too.
func (s *EndpointSlice) Slice() (sl endpoints.Slice, ok bool) {
	if s.Family == 0 {
		return sl, false
	}
	sl = endpoints.Slice{Name: s.Name, Family: s.Family, Labels: s.Labels,
		Ports: make([]endpoints.Port, len(s.Ports)), Endpoints: make([]endpoints.Endpoint, len(s.Endpoints))}
	for i, p := range s.Ports {
		sl.Ports[i] = endpoints.Port(p)
	}
	for i, ep := range s.Endpoints {
		sl.Endpoints[i] = endpoints.Endpoint{
			Address:    ep.Addresses[0],
			Conditions: endpoints.Conditions{Ready: ep.Ready, Serving: ep.Serving, Terminating: ep.Terminating},
			Hostname:   ep.Hostname, NodeName: ep.Node, Zone: ep.Zone,
			TargetRef: endpoints.Ref{Namespace: ep.TargetRef.Namespace, Name: ep.TargetRef.Name},
		}
	}
	return sl, true
}

// Zones maps each node's name to its zone (the topology.kubernetes.io/zone
// label), for [Pod.Workload]. Nodes without a zone are left out.
func (set *Set) Zones() map[string]string {
	zones := make(map[string]string, len(set.Nodes))
	for i := range set.Nodes {
		if z := set.Nodes[i].Zone; z != "" {
			zones[set.Nodes[i].Name] = z
		}
	}
	return zones
}
