package endpoints

import (
	"cmp"
	"github.com/svcnet/svcnet/selector"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Conditions rule from the EndpointSlice controller: serving follows the
// pod's readiness, terminating its deletion, and ready is serving and not
// terminating unless the service publishes not-ready addresses.
func conditionsFor(s *Service, w *Workload) Conditions {
	serving := w.Ready
	return Conditions{
		Serving:     serving,
		Terminating: w.Deleting,
		Ready:       s.PublishNotReadyAddresses || (serving && !w.Deleting),
	}
}

// ResolvePort returns the container port number a service port maps to on
// w. A named target is looked up by name and protocol; ok is false when it
// does not resolve and w is then left out of that port.
func ResolvePort(sp ServicePort, w *Workload) (port uint16, ok bool) {
	tp := sp.TargetPort
	if tp.Name == "" {
		if tp.Number == 0 {
			return sp.Port, true
		}
		return tp.Number, true
	}
	proto := sp.Protocol
	for _, cp := range w.Ports {
		if cp.Name == tp.Name && cp.Protocol == proto {
			return cp.Number, true
		}
	}
	return 0, false
}

// Group is the desired endpoints of one address type and one exact port
// set: the unit the controller packs into slices.
type Group struct {
	Family    IPFamily // IPv4 or IPv6
	Ports     []Port   // sorted by name, then protocol, then port
	Endpoints []Endpoint
}

// Key identifies a group by family and its sorted port set.
func (g *Group) Key() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(g.Family)))
	for _, p := range g.Ports {
		b.WriteByte('|')
		b.WriteString(p.Name)
		b.WriteByte('/')
		b.WriteString(p.Protocol.String())
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(int(p.Port)))
		b.WriteByte('/')
		b.WriteString(p.AppProtocol)
	}
	return b.String()
}

// Desired computes the endpoints s should have from workloads, grouped by
// IP family and resolved port set, in a deterministic order: groups by Key,
// endpoints by address (then workload and hostname). Workloads in other namespaces, not selected,
// terminal, or without an IP of a family are left out; terminating
// workloads are kept.
func Desired(s *Service, workloads []Workload) []Group {
	sel := selector.FromMap(s.Selector)
	if sel.IsZero() {
		return nil
	}
	families := s.Families
	if len(families) == 0 {
		families = []IPFamily{IPv4}
	}
	byKey := map[string]*Group{}
	for i := range workloads {
		w := &workloads[i]
		if w.Namespace != s.Namespace || w.Phase == Succeeded || w.Phase == Failed ||
			!sel.Matches(selector.Set(w.Labels)) {
			continue
		}
		ports := make([]Port, 0, len(s.Ports))
		for _, sp := range s.Ports {
			n, ok := ResolvePort(sp, w)
			if !ok {
				continue
			}
			ports = append(ports, Port{Name: sp.Name, Protocol: sp.Protocol, Port: n, AppProtocol: sp.AppProtocol})
		}
		slices.SortFunc(ports, comparePort)
		hostname := ""
		if w.Hostname != "" && w.Subdomain == s.Name {
			hostname = w.Hostname
		}
		for _, fam := range families {
			addr, ok := firstOfFamily(w, fam)
			if !ok {
				continue
			}
			g := &Group{Family: fam, Ports: ports}
			k := g.Key()
			if have, ok := byKey[k]; ok {
				g = have
			} else {
				byKey[k] = g
			}
			g.Endpoints = append(g.Endpoints, Endpoint{
				Address:    addr,
				Conditions: conditionsFor(s, w),
				Hostname:   hostname,
				NodeName:   w.Node,
				Zone:       w.Zone,
				TargetRef:  Ref{Namespace: w.Namespace, Name: w.Name},
				Hints:      hintsFor(s, w),
			})
		}
	}
	out := make([]Group, 0, len(byKey))
	for _, g := range byKey {
		slices.SortFunc(g.Endpoints, compareEndpoint)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// compareEndpoint orders by address, then, for endpoints that share one
// (host-network pods of a node), by the rest of their identity, so the
// order does not depend on the order of the workloads.
func compareEndpoint(a, b Endpoint) int {
	return cmp.Or(a.Address.Compare(b.Address), strings.Compare(a.TargetRef.Namespace, b.TargetRef.Namespace),
		strings.Compare(a.TargetRef.Name, b.TargetRef.Name), strings.Compare(a.Hostname, b.Hostname))
}

func comparePort(a, b Port) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Protocol.String(), b.Protocol.String()), cmp.Compare(a.Port, b.Port))
}

func firstOfFamily(w *Workload, fam IPFamily) (a0 netip.Addr, ok bool) {
	for _, a := range w.IPs {
		a = a.Unmap()
		if IPFamilyOf(a) == fam {
			return a, true
		}
	}
	return a0, false
}
