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
	var c Service
	cloneInto(&c, s)
	return c
}

// cloneInto makes *dst a deep copy of s, reusing the memory of the copy dst
// held (which no one else may hold), so that updating a large service
// copies it without allocating.
func cloneInto(dst, s *Service) {
	ips, ports, eps := dst.ClusterIPs[:0], dst.Ports[:0], dst.Endpoints[:0]
	var addrBuf []netip.Addr
	var portBuf []EndpointPort
	if len(dst.Endpoints) > 0 {
		// The endpoints' slices are windows on two flat arrays; the
		// first endpoint's starts them.
		addrBuf = dst.Endpoints[0].Addrs[:0:cap(dst.Endpoints[0].Addrs)]
		portBuf = dst.Endpoints[0].Ports[:0:cap(dst.Endpoints[0].Ports)]
	}
	*dst = *s
	dst.ClusterIPs = append(ips, s.ClusterIPs...)
	dst.Ports = append(ports, s.Ports...)
	dst.Endpoints = nil
	if len(s.Endpoints) == 0 {
		return
	}
	na, np := 0, 0
	for i := range s.Endpoints {
		na += len(s.Endpoints[i].Addrs)
		np += len(s.Endpoints[i].Ports)
	}
	if cap(addrBuf) < na {
		addrBuf = make([]netip.Addr, 0, na)
	}
	if cap(portBuf) < np {
		portBuf = make([]EndpointPort, 0, np)
	}
	dst.Endpoints = append(eps, s.Endpoints...)
	for i := range dst.Endpoints {
		ep := &dst.Endpoints[i]
		start := len(addrBuf)
		addrBuf = append(addrBuf, ep.Addrs...)
		ep.Addrs = addrBuf[start:len(addrBuf):cap(addrBuf)]
		start = len(portBuf)
		portBuf = append(portBuf, ep.Ports...)
		ep.Ports = portBuf[start:len(portBuf):cap(portBuf)]
	}
}
