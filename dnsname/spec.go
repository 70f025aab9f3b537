package dnsname

import (
	"net/netip"
	"slices"
)

// The catalog keeps a copy of every service it serves, so that setting an
// unchanged service (the common case when a caller hands over its whole
// state on every sync) costs one comparison and no rebuild, and the caller
// needs no shadow copy of its own.

// equalService reports whether a and b publish the same records: every
// field compares, in order.
func equalService(a, b *Service) bool {
	if a.Namespace != b.Namespace || a.Name != b.Name || a.Type != b.Type ||
		a.ExternalName != b.ExternalName || a.PublishNotReadyAddresses != b.PublishNotReadyAddresses ||
		!slices.Equal(a.ClusterIPs, b.ClusterIPs) || !slices.Equal(a.Ports, b.Ports) ||
		len(a.Endpoints) != len(b.Endpoints) {
		return false
	}
	for i := range a.Endpoints {
		x, y := &a.Endpoints[i], &b.Endpoints[i]
		if x.Hostname != y.Hostname || x.PodName != y.PodName || x.Ready != y.Ready ||
			!slices.Equal(x.Addrs, y.Addrs) || !slices.Equal(x.Ports, y.Ports) {
			return false
		}
	}
	return true
}

// cloneService returns a deep copy of s in four allocations whatever its
// size: the endpoints' addresses and ports are copied into one slice each.
func cloneService(s *Service) Service {
	c := *s
	c.ClusterIPs = slices.Clone(s.ClusterIPs)
	c.Ports = slices.Clone(s.Ports)
	if len(s.Endpoints) == 0 {
		c.Endpoints = nil
		return c
	}
	na, np := 0, 0
	for i := range s.Endpoints {
		na += len(s.Endpoints[i].Addrs)
		np += len(s.Endpoints[i].Ports)
	}
	addrs := make([]netip.Addr, 0, na)
	ports := make([]EndpointPort, 0, np)
	c.Endpoints = slices.Clone(s.Endpoints)
	for i := range c.Endpoints {
		ep := &c.Endpoints[i]
		start := len(addrs)
		addrs = append(addrs, ep.Addrs...)
		ep.Addrs = addrs[start:len(addrs):len(addrs)]
		start = len(ports)
		ports = append(ports, ep.Ports...)
		ep.Ports = ports[start:len(ports):len(ports)]
	}
	return c
}
