package endpoints

// hintsFor gives a ready endpoint hints for its own zone (and node, with
// PreferSameNode), as the EndpointSlice controller does for
// trafficDistribution. An endpoint without a zone gets no zone hint.
func hintsFor(s *Service, w *Workload) Hints {
	if s.TrafficDistribution == "" || !conditionsFor(s, w).Ready {
		return Hints{}
	}
	switch s.TrafficDistribution {
	case PreferClose, PreferSameZone:
		return Hints{ForZone: w.Zone}
	case PreferSameNode:
		return Hints{ForZone: w.Zone, ForNode: w.Node}
	}
	return Hints{}
}

// AppendUsable appends to dst the endpoints a proxy on node in zone should
// send traffic to. It is svcnet's one statement of kube-proxy's rules
// (pkg/proxy/topology.go, Kubernetes 1.37); consumers (a dataplane, a
// balancer, [Tracker.AppendUsableEndpoints]) take its result rather than
// keeping their own copy:
//   - Local policy keeps only endpoints on node;
//   - node hints are used when every ready endpoint has one and one names
//     node; else zone hints when every ready endpoint has one and one names
//     zone;
//   - the ready endpoints are used; when none is ready, the serving and
//     terminating ones are (graceful termination fallback).
//
// It does not allocate when dst has room.
func AppendUsable(dst []Endpoint, eps []Endpoint, node, zone string, policy TrafficPolicy) []Endpoint {
	u := newUsable(node, zone, policy)
	for i := range eps {
		u.observe(&eps[i])
	}
	for i := range eps {
		if u.keeps(&eps[i]) {
			dst = append(dst, eps[i])
		}
	}
	return dst
}

// usable decides which endpoints of one service port a proxy uses: it
// sees them all once (observe), then answers per endpoint (keeps).
type usable struct {
	node, zone                string
	policy                    TrafficPolicy
	ready                     int
	allNode, allZone          bool
	nodeHit, zoneHit          bool
	useNode, useZone, decided bool
}

func newUsable(node, zone string, policy TrafficPolicy) usable {
	return usable{node: node, zone: zone, policy: policy, allNode: true, allZone: true}
}

func (u *usable) observe(e *Endpoint) {
	if (u.policy == PolicyLocal && e.NodeName != u.node) || !e.Conditions.Ready {
		return
	}
	u.ready++
	u.allNode = u.allNode && e.Hints.ForNode != ""
	u.allZone = u.allZone && e.Hints.ForZone != ""
	u.nodeHit = u.nodeHit || (u.node != "" && e.Hints.ForNode == u.node)
	u.zoneHit = u.zoneHit || (u.zone != "" && e.Hints.ForZone == u.zone)
}

func (u *usable) keeps(e *Endpoint) bool {
	if !u.decided {
		u.useNode = u.ready > 0 && u.policy != PolicyLocal && u.allNode && u.nodeHit
		u.useZone = u.ready > 0 && u.policy != PolicyLocal && !u.useNode && u.allZone && u.zoneHit
		u.decided = true
	}
	switch {
	case u.policy == PolicyLocal && e.NodeName != u.node:
		return false
	case u.ready == 0:
		return e.Conditions.Serving && e.Conditions.Terminating
	case !e.Conditions.Ready:
		return false
	case u.useNode:
		return e.Hints.ForNode == u.node
	case u.useZone:
		return e.Hints.ForZone == u.zone
	}
	return true
}
