package endpoints

import (
	"math"
	"slices"
)

// Node is what proportional (Auto) hints need to know of a node. The zero
// value is a node without zone or CPU, which disables Auto hints.
type Node struct {
	Name string
	Zone string // topology.kubernetes.io/zone; zero means unknown
	// AllocatableCPU is status.allocatable.cpu in millicores; zero means
	// unknown.
	AllocatableCPU int64
}

// overloadThreshold is how far a zone may fall below its CPU share of
// endpoints before hints would overload it (Kubernetes: 20 %).
const overloadThreshold = 0.2

// AutoHints gives the ready endpoints of groups zone hints in proportion to
// each zone's share of allocatable CPU, as the EndpointSlice controller does
// for service.kubernetes.io/topology-mode: Auto: every endpoint first hints
// its own zone, then zones holding more than their share give the surplus
// to zones holding less. Families are allocated separately.
//
// It applies Kubernetes' safeguards and, when one trips, removes every
// zone hint instead and reports false: a node without zone or CPU, fewer
// than two zones, a ready endpoint without a zone or in a zone no node
// has, more zones than ready endpoints, or a zone whose endpoints fall
// more than 20 % short of its share. The result is deterministic.
func AutoHints(groups []Group, nodes []Node) bool {
	ratios := zoneRatios(nodes)
	ok := true
	for _, fam := range []IPFamily{IPv4, IPv6} {
		if !autoFamily(groups, fam, ratios) {
			ok = false
		}
	}
	if !ok {
		for gi := range groups {
			for ei := range groups[gi].Endpoints {
				groups[gi].Endpoints[ei].Hints.ForZone = ""
			}
		}
	}
	return ok
}

// zoneRatios returns each zone's share of allocatable CPU, or nil when the
// node information cannot support hints.
func zoneRatios(nodes []Node) map[string]float64 {
	cpu := map[string]int64{}
	var total int64
	for _, n := range nodes {
		if n.Zone == "" || n.AllocatableCPU <= 0 {
			return nil
		}
		cpu[n.Zone] += n.AllocatableCPU
		total += n.AllocatableCPU
	}
	if len(cpu) < 2 {
		return nil
	}
	r := make(map[string]float64, len(cpu))
	for z, c := range cpu {
		r[z] = float64(c) / float64(total)
	}
	return r
}

// autoFamily hints the ready endpoints of one family; a family without
// ready endpoints needs no hints and passes.
func autoFamily(groups []Group, fam IPFamily, ratios map[string]float64) bool {
	var eps []*Endpoint
	byZone := map[string]int{}
	for gi := range groups {
		if groups[gi].Family != fam {
			continue
		}
		for ei := range groups[gi].Endpoints {
			e := &groups[gi].Endpoints[ei]
			if e.Conditions.Ready {
				eps = append(eps, e)
				byZone[e.Zone]++
			}
		}
	}
	if len(eps) == 0 {
		return true
	}
	if ratios == nil || len(ratios) > len(eps) {
		return false
	}
	for z := range byZone {
		if _, known := ratios[z]; !known {
			return false // includes endpoints without a zone
		}
	}
	total := float64(len(eps))
	zones := make([]string, 0, len(ratios))
	for z, r := range ratios {
		// A zone short of its share by more than the threshold would be
		// overloaded by the traffic hints send it.
		if float64(byZone[z]) < math.Ceil(total*r/(1+overloadThreshold)) {
			return false
		}
		zones = append(zones, z)
	}
	slices.Sort(zones)

	// Own zone first; then move the surplus, endpoint by endpoint in their
	// sorted order, to the zones furthest below their share.
	hinted := map[string]int{}
	for _, e := range eps {
		e.Hints.ForZone = e.Zone
		hinted[e.Zone]++
	}
	need := func(z string) float64 { return total*ratios[z] - float64(hinted[z]) }
	for _, e := range eps {
		from := e.Hints.ForZone
		if -need(from) < 0.5 {
			continue
		}
		to := ""
		for _, z := range zones {
			if need(z) >= 0.5 && (to == "" || need(z) > need(to)) {
				to = z
			}
		}
		if to == "" {
			break
		}
		e.Hints.ForZone = to
		hinted[from]--
		hinted[to]++
	}
	return true
}
