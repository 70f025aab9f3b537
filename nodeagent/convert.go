package nodeagent

import (
	"net/netip"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

// AppendServicePorts appends to dst the service ports of s as the node
// named node, in zone, must program them: one per port, with the usable
// endpoints for the Cluster policy (topology hints honoured) and, when a
// traffic policy is Local, for the Local policy — both chosen by
// endpoints.AppendUsable, the one readiness and topology rule, and Maglev
// balancing when s asks for ConsistentHash. Headless and
// ExternalName services, and services with no frontend, have nothing to
// program and add nothing. s should be valid (resolved.Service.Validate).
func AppendServicePorts(dst []dataplane.ServicePort, s *resolved.Service, node, zone string) []dataplane.ServicePort {
	if s.Headless || s.Type == resolved.ExternalName {
		return dst
	}
	local := s.ExternalTrafficPolicy == resolved.PolicyLocal || s.InternalTrafficPolicy == resolved.PolicyLocal
	var c collector
	for i := range s.Ports {
		p := &s.Ports[i]
		if len(s.ClusterIPs) == 0 && p.NodePort == 0 && len(s.ExternalIPs) == 0 && len(s.LoadBalancerIPs) == 0 {
			continue
		}
		sp := dataplane.ServicePort{
			Namespace: s.Namespace, Name: s.Name, PortName: p.Name,
			Protocol: dataplane.Protocol(p.Protocol), Port: p.Port, NodePort: p.NodePort,
			ClusterIPs: s.ClusterIPs, ExternalIPs: s.ExternalIPs,
			LoadBalancerIPs: s.LoadBalancerIPs, LoadBalancerSourceRanges: s.LoadBalancerSourceRanges,
			AffinityTimeout: s.Affinity(),
			ExternalPolicy:  dataplane.TrafficPolicy(s.ExternalTrafficPolicy),
			InternalPolicy:  dataplane.TrafficPolicy(s.InternalTrafficPolicy),
		}
		if s.ConsistentHash {
			sp.Balancing = dataplane.Maglev // every node sends a client to the same endpoint
		}
		c.gather(s, p)
		sp.Endpoints = c.usable(node, zone, endpoints.PolicyCluster)
		if local {
			sp.LocalEndpoints = c.usable(node, zone, endpoints.PolicyLocal)
		}
		dst = append(dst, sp)
	}
	return dst
}

// collector gathers one service port's endpoints across its slices, with
// the target port each slice gives them.
type collector struct {
	all     []endpoints.Endpoint
	ports   []uint16
	scratch []endpoints.Endpoint
}

func (c *collector) gather(s *resolved.Service, p *resolved.Port) {
	c.all, c.ports = c.all[:0], c.ports[:0]
	for i := range s.Slices {
		sl := &s.Slices[i]
		n, ok := slicePort(sl, p)
		if !ok {
			continue
		}
		for _, e := range sl.Endpoints {
			c.all = append(c.all, e)
			c.ports = append(c.ports, n)
		}
	}
}

// usable applies AppendUsable to the gathered endpoints and pairs each one
// it keeps with its port: AppendUsable keeps the order of its input, so
// its result is matched against the input in one pass.
func (c *collector) usable(node, zone string, policy endpoints.TrafficPolicy) []dataplane.Endpoint {
	c.scratch = endpoints.AppendUsable(c.scratch[:0], c.all, node, zone, policy)
	if len(c.scratch) == 0 {
		return nil
	}
	out := make([]dataplane.Endpoint, 0, len(c.scratch))
	j := 0
	for _, u := range c.scratch {
		for c.all[j] != u {
			j++
		}
		out = append(out, dataplane.Endpoint{Addr: netip.AddrPortFrom(u.Address, c.ports[j])})
		j++
	}
	return out
}

// slicePort returns the number slice sl gives service port p, found by
// name and protocol as kube-proxy does.
func slicePort(sl *endpoints.Slice, p *resolved.Port) (uint16, bool) {
	for _, sp := range sl.Ports {
		if sp.Name == p.Name && resolved.Protocol(sp.Protocol) == p.Protocol {
			return sp.Port, true
		}
	}
	return 0, false
}

// DNSService converts s into what dnsname's Catalog serves: a ClusterIP
// service answers its ClusterIPs, a headless one its endpoints (each with
// its hostname, pod name, readiness and own ports), an ExternalName one a
// CNAME.
func DNSService(s *resolved.Service) dnsname.Service {
	d := dnsname.Service{
		Namespace: s.Namespace, Name: s.Name, ClusterIPs: s.ClusterIPs,
		ExternalName: s.ExternalName, PublishNotReadyAddresses: s.PublishNotReadyAddresses,
	}
	switch {
	case s.Type == resolved.ExternalName:
		d.Type = dnsname.ExternalName
	case s.Headless:
		d.Type = dnsname.Headless
	}
	for _, p := range s.Ports {
		d.Ports = append(d.Ports, dnsname.Port{Name: p.Name, Protocol: dnsname.Protocol(p.Protocol), Port: p.Port})
	}
	if d.Type != dnsname.Headless {
		return d
	}
	for i := range s.Slices {
		sl := &s.Slices[i]
		var ports []dnsname.EndpointPort
		for _, p := range sl.Ports {
			ports = append(ports, dnsname.EndpointPort{Name: p.Name, Protocol: dnsname.Protocol(p.Protocol), Port: p.Port})
		}
		for _, e := range sl.Endpoints {
			d.Endpoints = append(d.Endpoints, dnsname.Endpoint{
				Addrs: []netip.Addr{e.Address}, Hostname: e.Hostname, PodName: e.TargetRef.Name,
				Ready: e.Conditions.Ready, Ports: ports,
			})
		}
	}
	return d
}
