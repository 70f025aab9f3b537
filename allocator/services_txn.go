package allocator

import (
	"fmt"
	"net/netip"
	"slices"
)

// svcTxn is one Allocate call: what it newly took, so that a failure gives it back.
// Values the service already held are never in it, and are released only once the
// whole call has succeeded.
type svcTxn struct {
	s      *Services
	ips    []netip.Addr
	ports  []uint16
	lbUndo func() // restores the service's LoadBalancer holdings; nil when untouched
}

func (tx *svcTxn) undo() {
	for _, a := range tx.ips {
		_ = tx.s.ips[IPFamilyOf(a).index()].Release(a) // taken by this call
	}
	for _, p := range tx.ports {
		_ = tx.s.ports.Release(p) // taken by this call
	}
	if tx.lbUndo != nil {
		tx.lbUndo()
	}
}

// build computes the record for req from old, taking what is new.
func (tx *svcTxn) build(key string, old *svcRecord, req ServiceRequest) (*svcRecord, error) {
	if err := checkPorts(req.Ports); err != nil {
		return nil, err
	}
	rec := &svcRecord{typ: req.Type, headless: req.Headless, sharingKey: req.SharingKey, backendKey: req.BackendKey}
	switch {
	case req.Type > ExternalName:
		return nil, fmt.Errorf("spec.type: %w: %v", ErrInvalidService, req.Type)
	case req.ExternalTrafficPolicy > PolicyLocal:
		return nil, fmt.Errorf("spec.externalTrafficPolicy: %w: %v", ErrInvalidService, req.ExternalTrafficPolicy)
	}
	if req.Type == ExternalName {
		rec.headless = false // ExternalName ignores clusterIP fields, as Kubernetes drops them
	} else {
		if old.typ != ExternalName && old.headless != req.Headless {
			return nil, fmt.Errorf("spec.clusterIP: %w: headless (None) cannot change", ErrImmutable)
		}
		fams, err := tx.s.families(old, req)
		if err != nil {
			return nil, err
		}
		rec.fams = fams
		if !req.Headless {
			if rec.clusterIPs, err = tx.clusterIPs(old, req, fams); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if rec.ports, err = tx.nodePorts(old, req); err != nil {
		return nil, err
	}
	if rec.hcnp, err = tx.healthCheck(old, req, rec.ports); err != nil {
		return nil, err
	}
	if rec.lbIPs, err = tx.loadBalancer(key, req, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// checkPorts applies Kubernetes' port validation that allocation depends on: port
// numbers 1–65535, unique names (so one unnamed port at most), unique port and
// protocol pairs.
func checkPorts(ports []ServicePort) error {
	for i, p := range ports {
		switch {
		case p.Port == 0:
			return fmt.Errorf("spec.ports[%d].port: %w: must be 1-65535", i, ErrInvalidService)
		case p.Protocol > SCTP:
			return fmt.Errorf("spec.ports[%d].protocol: %w: %v", i, ErrInvalidService, p.Protocol)
		}
		for j, q := range ports[:i] {
			if q.Name == p.Name {
				return fmt.Errorf("spec.ports[%d].name: %w: %q is also spec.ports[%d]", i, ErrInvalidService, p.Name, j)
			}
			if q.Port == p.Port && q.Protocol == p.Protocol {
				return fmt.Errorf("spec.ports[%d]: %w: %v is also spec.ports[%d]", i, ErrInvalidService, PortProto{p.Protocol, p.Port}, j)
			}
		}
	}
	return nil
}

// families decides the service's IP families from its policy, the families and
// addresses it requests, what it holds, and the cluster's families.
func (s *Services) families(old *svcRecord, req ServiceRequest) ([]IPFamily, error) {
	fams, err := requestedFamilies(req)
	if err != nil {
		return nil, err
	}
	if len(fams) == 0 && len(old.fams) > 0 {
		fams = old.fams[:1] // the primary family stays; a policy change may add or drop the secondary
	}
	if len(fams) == 0 {
		fams = s.fams[:1]
	}
	for i, f := range fams {
		if s.ips[f.index()] == nil {
			return nil, fmt.Errorf("spec.ipFamilies[%d]: %w: %v", i, ErrFamilyNotConfigured, f)
		}
	}
	switch req.IPFamilyPolicy {
	case SingleStack:
	case PreferDualStack, RequireDualStack:
		if len(fams) == 1 && len(s.fams) == 2 {
			fams = append(fams, otherFamily(fams[0]))
		}
		if req.IPFamilyPolicy == RequireDualStack && len(fams) < 2 {
			return nil, fmt.Errorf("spec.ipFamilyPolicy: %w: RequireDualStack on a single-stack cluster", ErrFamilyNotConfigured)
		}
	default:
		return nil, fmt.Errorf("spec.ipFamilyPolicy: %w: %v", ErrInvalidService, req.IPFamilyPolicy)
	}
	if len(old.fams) > 0 && fams[0] != old.fams[0] {
		return nil, fmt.Errorf("spec.ipFamilies[0]: %w: the primary family is %v", ErrImmutable, old.fams[0])
	}
	return fams, nil
}

// requestedFamilies returns the families req names, in spec.ipFamilies or through
// spec.clusterIPs, checked for consistency.
func requestedFamilies(req ServiceRequest) ([]IPFamily, error) {
	if len(req.IPFamilies) > 2 || len(req.ClusterIPs) > 2 {
		return nil, fmt.Errorf("spec.ipFamilies: %w: at most two", ErrInvalidService)
	}
	fams := slices.Clone(req.IPFamilies)
	for i, f := range fams {
		if !f.valid() {
			return nil, fmt.Errorf("spec.ipFamilies[%d]: %w: %v", i, ErrInvalidService, f)
		}
	}
	for i, a := range req.ClusterIPs {
		f := IPFamilyOf(a)
		switch {
		case f == 0:
			return nil, fmt.Errorf("spec.clusterIPs[%d]: %w: invalid address", i, ErrInvalidService)
		case i < len(fams) && fams[i] != f:
			return nil, fmt.Errorf("spec.clusterIPs[%d]: %w: %v is not of family %v", i, ErrInvalidService, a, fams[i])
		case i >= len(fams):
			fams = append(fams, f)
		}
	}
	if len(fams) == 2 && fams[0] == fams[1] {
		return nil, fmt.Errorf("spec.ipFamilies: %w: %v twice", ErrInvalidService, fams[0])
	}
	if len(fams) == 2 && req.IPFamilyPolicy == SingleStack {
		return nil, fmt.Errorf("spec.ipFamilyPolicy: %w: SingleStack with two families", ErrInvalidService)
	}
	return fams, nil
}

func otherFamily(f IPFamily) IPFamily {
	if f == IPv4 {
		return IPv6
	}
	return IPv4
}

// clusterIPs keeps the address the service holds in each family, else takes the
// requested one, else the next free one.
func (tx *svcTxn) clusterIPs(old *svcRecord, req ServiceRequest, fams []IPFamily) ([]netip.Addr, error) {
	out := make([]netip.Addr, 0, len(fams))
	for i, f := range fams {
		var want, have netip.Addr
		if i < len(req.ClusterIPs) {
			want = req.ClusterIPs[i].Unmap()
		}
		for _, a := range old.clusterIPs {
			if IPFamilyOf(a) == f {
				have = a
			}
		}
		r := tx.s.ips[f.index()]
		switch {
		case have.IsValid() && want.IsValid() && want != have:
			return nil, fmt.Errorf("spec.clusterIPs[%d]: %w: the service holds %v", i, ErrImmutable, have)
		case have.IsValid():
			want = have
		case want.IsValid():
			if err := r.Allocate(want); err != nil {
				return nil, fmt.Errorf("spec.clusterIPs[%d]: %w", i, err)
			}
			tx.ips = append(tx.ips, want)
		default:
			a, err := r.AllocateNext()
			if err != nil {
				return nil, fmt.Errorf("spec.clusterIPs[%d]: %v: %w", i, f, err)
			}
			tx.ips = append(tx.ips, a)
			want = a
		}
		out = append(out, want)
	}
	return out, nil
}

// nodePorts gives each port its node port: the requested one, else the one the port
// of that name held, else the one of an earlier port with the same number (Kubernetes
// shares a node port between protocols), else a new one when the type needs it.
func (tx *svcTxn) nodePorts(old *svcRecord, req ServiceRequest) ([]ServicePort, error) {
	held := old.nodePorts()
	byName := make(map[string]uint16, len(old.ports))
	for _, p := range old.ports {
		byName[p.Name] = p.NodePort
	}
	allocate := req.Type == NodePort || (req.Type == LoadBalancer && !req.NoLoadBalancerNodePorts)
	byNumber := make(map[uint16]uint16, len(req.Ports))
	out := slices.Clone(req.Ports)
	for i := range out {
		p := &out[i]
		if !req.Type.needsNodePorts() {
			p.NodePort = 0 // ignored, so that a repeated request gets the same answer
			continue
		}
		if p.NodePort == 0 && !claimed(out[:i], byName[p.Name], p.Protocol) {
			p.NodePort = byName[p.Name]
		}
		if p.NodePort == 0 {
			p.NodePort = byNumber[p.Port]
		}
		if err := tx.nodePort(p, allocate, held); err != nil {
			return nil, fmt.Errorf("spec.ports[%d].nodePort: %w", i, err)
		}
		if p.NodePort != 0 && claimed(out[:i], p.NodePort, p.Protocol) {
			return nil, fmt.Errorf("spec.ports[%d].nodePort: %w: %d/%v twice", i, ErrInvalidService, p.NodePort, p.Protocol)
		}
		if _, ok := byNumber[p.Port]; !ok {
			byNumber[p.Port] = p.NodePort
		}
	}
	return out, nil
}

// claimed reports whether one of ports already uses node port np with protocol.
func claimed(ports []ServicePort, np uint16, proto Protocol) bool {
	for _, q := range ports {
		if np != 0 && q.NodePort == np && q.Protocol == proto {
			return true
		}
	}
	return false
}

// nodePort takes p.NodePort unless the service holds it or this call took it; with a
// zero NodePort and allocate set, it takes the next free one.
func (tx *svcTxn) nodePort(p *ServicePort, allocate bool, held []uint16) error {
	switch {
	case p.NodePort == 0 && allocate:
		n, err := tx.s.ports.AllocateNext()
		if err != nil {
			return err
		}
		tx.ports = append(tx.ports, n)
		p.NodePort = n
	case p.NodePort == 0 || slices.Contains(held, p.NodePort) || slices.Contains(tx.ports, p.NodePort):
	default:
		if err := tx.s.ports.Allocate(p.NodePort); err != nil {
			return err
		}
		tx.ports = append(tx.ports, p.NodePort)
	}
	return nil
}

// healthCheck gives a LoadBalancer service with externalTrafficPolicy Local its
// health-check node port (Kubernetes allocates one for no other type).
func (tx *svcTxn) healthCheck(old *svcRecord, req ServiceRequest, ports []ServicePort) (uint16, error) {
	want, have := req.HealthCheckNodePort, old.hcnp
	if req.Type != LoadBalancer || req.ExternalTrafficPolicy != PolicyLocal {
		return 0, nil // ignored, as node ports on a type without them
	}
	for i, p := range ports {
		if c := cmpOr(have, want); c != 0 && p.NodePort == c {
			return 0, fmt.Errorf("spec.healthCheckNodePort: %w: %d is also spec.ports[%d].nodePort", ErrAllocated, c, i)
		}
	}
	switch {
	case have != 0 && want != 0 && want != have:
		return 0, fmt.Errorf("spec.healthCheckNodePort: %w: the service holds %d", ErrImmutable, have)
	case have != 0:
		return have, nil
	case want != 0:
		if err := tx.s.ports.Allocate(want); err != nil {
			return 0, fmt.Errorf("spec.healthCheckNodePort: %w", err)
		}
		tx.ports = append(tx.ports, want)
		return want, nil
	}
	n, err := tx.s.ports.AllocateNext()
	if err != nil {
		return 0, fmt.Errorf("spec.healthCheckNodePort: %w", err)
	}
	tx.ports = append(tx.ports, n)
	return n, nil
}

func cmpOr(a, b uint16) uint16 {
	if a != 0 {
		return a
	}
	return b
}

// loadBalancer gives a LoadBalancer service one address per family from the
// LBAllocator; other types, an outside load balancer, or no LBAllocator, get none.
func (tx *svcTxn) loadBalancer(key string, req ServiceRequest, rec *svcRecord) ([]netip.Addr, error) {
	if req.Type != LoadBalancer || tx.s.lb == nil || req.ExternalLoadBalancer {
		return nil, nil
	}
	reqs := make([]LBRequest, len(rec.fams))
	var lbPorts []PortProto
	for _, p := range req.Ports {
		lbPorts = append(lbPorts, PortProto{p.Protocol, p.Port})
	}
	for i, f := range rec.fams {
		reqs[i] = LBRequest{Family: f, Pool: req.LoadBalancerPool, SharingKey: req.SharingKey, BackendKey: req.BackendKey, Ports: lbPorts}
	}
	for i, a := range req.LoadBalancerIPs {
		j := slices.Index(rec.fams, IPFamilyOf(a))
		if j < 0 || reqs[j].Addr.IsValid() {
			return nil, fmt.Errorf("spec.loadBalancerIPs[%d]: %w: %v is not the one address of a service family", i, ErrInvalidService, a)
		}
		reqs[j].Addr = a.Unmap()
	}
	got, undo, err := tx.s.lb.assignFamilies(key, reqs)
	if err != nil {
		return nil, fmt.Errorf("loadBalancer: %w", err)
	}
	tx.lbUndo = undo
	return got, nil
}
