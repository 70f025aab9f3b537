package allocator

import (
	"fmt"
	"net/netip"
)

// checkRecord reports why rec, read from a snapshot, is not something Allocate could
// have produced under s's configuration.
func (s *Services) checkRecord(rec *svcRecord) error {
	if err := checkPorts(rec.ports); err != nil {
		return err
	}
	if rec.typ == ExternalName {
		if len(rec.fams)+len(rec.clusterIPs)+len(rec.lbIPs) != 0 || rec.hcnp != 0 || rec.headless {
			return fmt.Errorf("ExternalName holds values")
		}
	} else if err := s.checkAddrs(rec); err != nil {
		return err
	}
	for i, p := range rec.ports {
		if p.NodePort == 0 {
			continue
		}
		if !rec.typ.needsNodePorts() {
			return fmt.Errorf("%v holds node port %d", rec.typ, p.NodePort)
		}
		if _, ok := s.ports.offset(p.NodePort); !ok {
			return fmt.Errorf("node port %d not in range", p.NodePort)
		}
		if claimed(rec.ports[:i], p.NodePort, p.Protocol) {
			return fmt.Errorf("node port %d/%v twice", p.NodePort, p.Protocol)
		}
		if p.NodePort == rec.hcnp {
			return fmt.Errorf("node port %d is also the health-check node port", p.NodePort)
		}
	}
	if rec.hcnp != 0 {
		if _, ok := s.ports.offset(rec.hcnp); !ok || rec.typ != LoadBalancer {
			return fmt.Errorf("health-check node port %d not in range or not a LoadBalancer", rec.hcnp)
		}
	}
	return nil
}

// checkAddrs checks a record's families, ClusterIPs and LoadBalancer addresses.
func (s *Services) checkAddrs(rec *svcRecord) error {
	if len(rec.fams) == 0 || len(rec.fams) > 2 || (len(rec.fams) == 2 && rec.fams[0] == rec.fams[1]) {
		return fmt.Errorf("families %v", rec.fams)
	}
	for _, f := range rec.fams {
		if !f.valid() || s.ips[f.index()] == nil {
			return fmt.Errorf("family %v not configured", f)
		}
	}
	if rec.headless && len(rec.clusterIPs) != 0 || !rec.headless && len(rec.clusterIPs) != len(rec.fams) {
		return fmt.Errorf("%d ClusterIPs for %d families", len(rec.clusterIPs), len(rec.fams))
	}
	for i, a := range rec.clusterIPs {
		if IPFamilyOf(a) != rec.fams[i] || !s.ips[rec.fams[i].index()].Contains(a) {
			return fmt.Errorf("ClusterIP %v not in the %v range", a, rec.fams[i])
		}
	}
	if len(rec.lbIPs) > 0 && (rec.typ != LoadBalancer || s.lb == nil) {
		return fmt.Errorf("LoadBalancer addresses without a LoadBalancer")
	}
	for i, a := range rec.lbIPs {
		if i >= len(rec.fams) || IPFamilyOf(a) != rec.fams[i] {
			return fmt.Errorf("LoadBalancer address %v not of family %d", a, i)
		}
	}
	return nil
}

// checkUnique refuses a value claimed by two services.
func checkUnique(recs []keyedRecord) error {
	addrs := make(map[netip.Addr]string)
	ports := make(map[uint16]string)
	for _, d := range recs {
		for _, a := range d.rec.clusterIPs {
			if other, dup := addrs[a]; dup {
				return fmt.Errorf("%w: ClusterIP %v claimed by services %q and %q", ErrCorruptSnapshot, a, other, d.key)
			}
			addrs[a] = d.key
		}
		for _, p := range d.rec.nodePorts() {
			if other, dup := ports[p]; dup {
				return fmt.Errorf("%w: node port %d claimed by services %q and %q", ErrCorruptSnapshot, p, other, d.key)
			}
			ports[p] = d.key
		}
	}
	return nil
}

// lbHoldings returns the LoadBalancer addresses the records hold, in record order.
func lbHoldings(recs []keyedRecord) []lbHolding {
	var hs []lbHolding
	for _, d := range recs {
		if len(d.rec.lbIPs) == 0 {
			continue
		}
		ports := make([]PortProto, len(d.rec.ports))
		for i, p := range d.rec.ports {
			ports[i] = PortProto{p.Protocol, p.Port}
		}
		u := lbUser{svc: d.key, key: d.rec.sharingKey, backend: d.rec.backendKey, ports: normPorts(ports)}
		for _, x := range d.rec.lbIPs {
			hs = append(hs, lbHolding{x, u})
		}
	}
	return hs
}

// reset empties the set in place and refills it through fill, under the lock. It
// allocates nothing for a dense range, so a restore costs what its blob holds, not
// the size of the range.
func (c *core) reset(fill func(set func(uint64))) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bm.zero()
	fill(func(o uint64) { c.bm.set(o) })
	c.leaks = nil
}

func (b *bitmap) zero() {
	clear(b.words)
	clear(b.full)
	b.used = 0
}
