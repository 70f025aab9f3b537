package manifests

import (
	"fmt"
	"github.com/svcnet/svcnet/endpoints"
	"net/netip"
)

// resolve picks, for every object name, the document that wins it, refuses
// the others as duplicates, refuses Services whose addresses conflict, and
// builds the Set. It updates l.owner and l.established.
func (l *Loader) resolve(files []fileResult) (Set, []*Error) {
	winner := l.winners(files)
	set, svcs := presized(files)
	var errs []*Error
	for _, f := range files {
		if f.claimsOnly {
			continue
		}
		for _, o := range f.res.objects {
			src := o.source()
			if w := winner[o.key]; w != src {
				errs = append(errs, &Error{File: src.File, Doc: src.Doc, Field: "metadata.name",
					Err: reasonf(ErrDuplicate, "%s is already defined in %s document %d", o.key, w.File, w.Doc)})
				continue
			}
			switch {
			case o.svc != nil:
				svcs = append(svcs, o.svc)
			case o.pod != nil:
				set.Pods = append(set.Pods, *o.pod)
			case o.slice != nil:
				set.EndpointSlices = append(set.EndpointSlices, *o.slice)
			case o.node != nil:
				set.Nodes = append(set.Nodes, *o.node)
			}
		}
	}
	l.owner = winner
	set.Services, errs = l.checkConflicts(svcs, errs)
	return set, errs
}

// presized returns a Set whose Pods, EndpointSlices and Nodes, and a
// Service list, have room for all of files' objects: appending them one by
// one copied the Pods of a 10,000-pod directory ~15 times a load.
func presized(files []fileResult) (Set, []*Service) {
	var n [len(kindNames)]int
	for _, f := range files {
		if !f.claimsOnly {
			for i := range f.res.objects {
				n[f.res.objects[i].key.kind]++
			}
		}
	}
	return Set{Pods: make([]Pod, 0, n[kindPod]), EndpointSlices: make([]EndpointSlice, 0, n[kindSlice]),
		Nodes: make([]Node, 0, n[kindNode])}, make([]*Service, 0, n[kindService])
}

func (o *object) source() Source {
	switch {
	case o.svc != nil:
		return o.svc.Source
	case o.pod != nil:
		return o.pod.Source
	case o.slice != nil:
		return o.slice.Source
	}
	return o.node.Source
}

// winners returns, for each object name, the document that holds it: the
// first document naming it in the file that held it in the last Load, if
// that file still names it; otherwise the first in file-name and document
// order. A document that was refused still holds its name, so a duplicate
// cannot slip in while the established one is being fixed.
func (l *Loader) winners(files []fileResult) map[objKey]Source {
	winner := make(map[objKey]Source, len(l.owner))
	for _, f := range files {
		for _, c := range f.res.claims {
			w, ok := winner[c.key]
			if !ok || l.owner[c.key].File == c.src.File && l.owner[c.key].File != w.File {
				winner[c.key] = c.src
			}
		}
	}
	return winner
}

// frontend is an address:port/protocol a Service answers on outside its
// ClusterIP.
type frontend struct {
	addr  netip.Addr
	port  uint16
	proto endpoints.Protocol
}

// conflicts records which Service holds which address, to refuse what the
// dataplane would: one ClusterIP for two Services, an external IP that is
// another Service's ClusterIP or LoadBalancer address (or the reverse), two
// Services on one external or LoadBalancer address:port/protocol, and two
// on one node port.
type conflicts struct {
	clusterIP map[netip.Addr]*Service
	external  map[netip.Addr]*Service // external IPs, by address
	lb        map[netip.Addr]*Service // LoadBalancer addresses, by address
	frontends map[frontend]*Service
	nodePorts map[frontend]*Service // addr unset
}

// checkConflicts accepts Services in precedence order — those the last
// Load accepted first, then newcomers, each in file order — and refuses a
// Service whose addresses clash with one accepted before it. The Services
// come back in file order.
func (l *Loader) checkConflicts(svcs []*Service, errs []*Error) ([]Service, []*Error) {
	c := conflicts{
		clusterIP: map[netip.Addr]*Service{}, external: map[netip.Addr]*Service{},
		lb: map[netip.Addr]*Service{}, frontends: map[frontend]*Service{}, nodePorts: map[frontend]*Service{},
	}
	refused := make([]bool, len(svcs))
	for pass := 0; pass < 2; pass++ {
		for i, s := range svcs {
			if _, old := l.established[objKey{kindService, s.Namespace, s.Name}]; old != (pass == 0) {
				continue
			}
			if field, err := c.check(s); err != nil {
				errs = append(errs, &Error{File: s.Source.File, Doc: s.Source.Doc, Field: field, Err: err})
				refused[i] = true
				continue
			}
			c.add(s)
		}
	}
	out := make([]Service, 0, len(svcs))
	l.established = make(map[objKey]struct{}, len(svcs))
	for i, s := range svcs {
		if !refused[i] {
			out = append(out, *s)
			l.established[objKey{kindService, s.Namespace, s.Name}] = struct{}{}
		}
	}
	return out, errs
}

func held(by *Service, what string) error {
	return reasonf(ErrConflict, "%s is already held by Service %s (%s document %d)", what, by.Key(), by.Source.File, by.Source.Doc)
}

// check returns the field and reason of s's first clash, if any.
func (c *conflicts) check(s *Service) (string, error) {
	for i, a := range s.ClusterIPs {
		f := fmt.Sprintf("spec.clusterIPs[%d]", i)
		if o := c.clusterIP[a]; o != nil {
			return f, held(o, "ClusterIP "+a.String())
		}
		if o := cmpOr(c.external[a], c.lb[a]); o != nil {
			return f, held(o, "external or LoadBalancer address "+a.String())
		}
	}
	for i, a := range s.ExternalIPs {
		f := fmt.Sprintf("spec.externalIPs[%d]", i)
		if o := cmpOr(c.clusterIP[a], c.lb[a]); o != nil {
			return f, held(o, "ClusterIP or LoadBalancer address "+a.String())
		}
		if field, err := c.checkFrontends(s, f, a); err != nil {
			return field, err
		}
	}
	for i, a := range append(s.LoadBalancerIPs[:len(s.LoadBalancerIPs):len(s.LoadBalancerIPs)], s.LoadBalancerIngress...) {
		f := lbField(s, i)
		if o := cmpOr(c.clusterIP[a], c.external[a]); o != nil {
			return f, held(o, "ClusterIP or external IP "+a.String())
		}
		if field, err := c.checkFrontends(s, f, a); err != nil {
			return field, err
		}
	}
	for i, p := range s.Ports {
		if o := c.nodePorts[frontend{port: p.NodePort, proto: p.Protocol}]; p.NodePort != 0 && o != nil {
			return fmt.Sprintf("spec.ports[%d].nodePort", i), held(o, fmt.Sprintf("node port %d/%s", p.NodePort, p.Protocol))
		}
	}
	if o := c.nodePorts[frontend{port: s.HealthCheckNodePort}]; s.HealthCheckNodePort != 0 && o != nil {
		return "spec.healthCheckNodePort", held(o, fmt.Sprintf("node port %d/TCP", s.HealthCheckNodePort))
	}
	return "", nil
}

// lbField names the i-th of s's requested, then status, LoadBalancer addresses.
func lbField(s *Service, i int) string {
	if i >= len(s.LoadBalancerIPs) {
		return fmt.Sprintf("status.loadBalancer.ingress[%d].ip", i-len(s.LoadBalancerIPs))
	}
	if _, ok := s.Annotations[AnnotationLBIPs]; ok {
		return "metadata.annotations[" + AnnotationLBIPs + "]"
	}
	return "spec.loadBalancerIP"
}

func (c *conflicts) checkFrontends(s *Service, field string, a netip.Addr) (string, error) {
	for _, p := range s.Ports {
		fe := frontend{a, p.Port, p.Protocol}
		if o := c.frontends[fe]; o != nil && o != s {
			return field, held(o, fmt.Sprintf("%s/%s", netip.AddrPortFrom(a, p.Port), p.Protocol))
		}
	}
	return "", nil
}

func (c *conflicts) add(s *Service) {
	for _, a := range s.ClusterIPs {
		c.clusterIP[a] = s
	}
	addFrontends := func(m map[netip.Addr]*Service, addrs []netip.Addr) {
		for _, a := range addrs {
			m[a] = s
			for _, p := range s.Ports {
				c.frontends[frontend{a, p.Port, p.Protocol}] = s
			}
		}
	}
	addFrontends(c.external, s.ExternalIPs)
	addFrontends(c.lb, s.LoadBalancerIPs)
	addFrontends(c.lb, s.LoadBalancerIngress)
	for _, p := range s.Ports {
		if p.NodePort != 0 {
			c.nodePorts[frontend{port: p.NodePort, proto: p.Protocol}] = s
		}
	}
	if s.HealthCheckNodePort != 0 {
		c.nodePorts[frontend{port: s.HealthCheckNodePort}] = s
	}
}

func cmpOr(a, b *Service) *Service {
	if a != nil {
		return a
	}
	return b
}
