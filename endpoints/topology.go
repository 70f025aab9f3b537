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
// send traffic to, following kube-proxy's topology rules:
//   - Local policy keeps only endpoints on node;
//   - node hints are used when every ready endpoint has one and one names
//     node; else zone hints when every ready endpoint has one and one names
//     zone;
//   - the ready endpoints are used; when none is ready, the serving and
//     terminating ones are (graceful termination fallback).
//
// It does not allocate when dst has room.
func AppendUsable(dst []Endpoint, eps []Endpoint, node, zone string, policy TrafficPolicy) []Endpoint {
	ready, allNode, allZone, nodeHit, zoneHit := 0, true, true, false, false
	for i := range eps {
		e := &eps[i]
		if policy == PolicyLocal && e.NodeName != node {
			continue
		}
		if !e.Conditions.Ready {
			continue
		}
		ready++
		allNode = allNode && e.Hints.ForNode != ""
		allZone = allZone && e.Hints.ForZone != ""
		nodeHit = nodeHit || (node != "" && e.Hints.ForNode == node)
		zoneHit = zoneHit || (zone != "" && e.Hints.ForZone == zone)
	}
	useNode := ready > 0 && policy != PolicyLocal && allNode && nodeHit
	useZone := ready > 0 && policy != PolicyLocal && !useNode && allZone && zoneHit
	for i := range eps {
		e := &eps[i]
		if policy == PolicyLocal && e.NodeName != node {
			continue
		}
		switch {
		case ready == 0:
			if !e.Conditions.Serving || !e.Conditions.Terminating {
				continue
			}
		case !e.Conditions.Ready:
			continue
		case useNode && e.Hints.ForNode != node:
			continue
		case useZone && e.Hints.ForZone != zone:
			continue
		}
		dst = append(dst, *e)
	}
	return dst
}
