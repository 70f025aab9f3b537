package node

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/svcnet/svcnet/allocator"
)

// Annotations read from LoadBalancer services, as MetalLB spells them.
const (
	AnnotationLBIPs       = "metallb.universe.tf/loadBalancerIPs"
	AnnotationAllowShared = "metallb.universe.tf/allow-shared-ip"
)

// allocs holds every allocator and what each service holds. Not safe for
// concurrent use; the node's sync loop owns it.
type allocs struct {
	cidrs    []netip.Prefix
	svcIPs   []*allocator.IPRange // parallel to cidrs
	portSpec string
	ports    *allocator.PortRange
	lb       *allocator.LBAllocator // nil without --loadbalancer-pool
	held     map[string]Assignment  // by "namespace/name"
}

func newAllocs(cfg *Config, st *State) (*allocs, error) {
	a := &allocs{
		cidrs:    cfg.ServiceCIDRs,
		portSpec: fmt.Sprintf("%d-%d", cfg.NodePortMin, cfg.NodePortMax),
		held:     map[string]Assignment{},
	}
	for _, p := range cfg.ServiceCIDRs {
		r, err := allocator.NewIPRange(p, allocator.Config{})
		if err != nil {
			return nil, fmt.Errorf("service CIDR %s: %w", p, err)
		}
		a.svcIPs = append(a.svcIPs, r)
	}
	var err error
	if a.ports, err = allocator.NewPortRange(a.portSpec, allocator.Config{}); err != nil {
		return nil, fmt.Errorf("node port range %s: %w", a.portSpec, err)
	}
	if len(cfg.LBPool) > 0 {
		if a.lb, err = allocator.NewLBAllocator(allocator.Pool{Name: "default", Addresses: cfg.LBPool}); err != nil {
			return nil, fmt.Errorf("--loadbalancer-pool: %w: %w", ErrBadFlag, err)
		}
	}
	if st != nil {
		a.restore(st)
	}
	return a, nil
}

// restore loads the previous run's assignments. The snapshots are
// restored only when they match the configured ranges; otherwise the
// assignments are re-requested one by one, so that changing a range keeps
// every address that still fits.
func (a *allocs) restore(st *State) {
	restored := true
	for i, p := range a.cidrs {
		if b, ok := st.ServiceIPs[p.String()]; !ok || a.svcIPs[i].Restore(b) != nil {
			restored = false
		}
	}
	if b, ok := st.NodePorts[a.portSpec]; !ok || a.ports.Restore(b) != nil {
		restored = false
	}
	// A snapshot of other ranges fails to restore (ErrMismatchedRange).
	if a.lb != nil && a.lb.Restore(st.LBPool) != nil {
		restored = false
	}
	for k, as := range st.Services {
		if !restored {
			if err := a.reserve(k, as); err != nil {
				continue // no longer fits the configuration: reallocated on sync
			}
		}
		a.held[k] = as
	}
}

// ignoreHeld drops ErrAllocated: when some snapshots restored and others
// did not, a value may already be held by its own restored snapshot.
func ignoreHeld(err error) error {
	if errors.Is(err, allocator.ErrAllocated) {
		return nil
	}
	return err
}

// reserve takes every value of as in the allocators, for a state file
// written under a different configuration.
func (a *allocs) reserve(key string, as Assignment) error {
	var errs []error
	for _, s := range as.ClusterIPs {
		if ip, err := netip.ParseAddr(s); err == nil {
			errs = append(errs, ignoreHeld(a.allocIP(ip)))
		}
	}
	for _, p := range as.NodePorts {
		errs = append(errs, ignoreHeld(a.ports.Allocate(p)))
	}
	if as.HealthCheckNodePort != 0 {
		errs = append(errs, ignoreHeld(a.ports.Allocate(as.HealthCheckNodePort)))
	}
	if ip, err := netip.ParseAddr(as.LoadBalancerIP); err == nil && a.lb != nil {
		_, err := a.lb.Assign(key, allocator.LBRequest{Addr: ip, SharingKey: as.LBShareKey, Ports: portProtos(as.LBPorts)})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (a *allocs) state() *State {
	st := &State{
		ServiceIPs: map[string][]byte{},
		NodePorts:  map[string][]byte{a.portSpec: a.ports.Snapshot()},
		Services:   maps.Clone(a.held),
	}
	for i, p := range a.cidrs {
		st.ServiceIPs[p.String()] = a.svcIPs[i].Snapshot()
	}
	if a.lb != nil {
		st.LBPool = a.lb.Snapshot()
	}
	return st
}

func (a *allocs) cidrFor(ip netip.Addr) int {
	for i, p := range a.cidrs {
		if p.Contains(ip) {
			return i
		}
	}
	return -1
}

func (a *allocs) allocIP(ip netip.Addr) error {
	i := a.cidrFor(ip)
	if i < 0 {
		return fmt.Errorf("%w: %s is not in the service CIDRs %v", ErrConflict, ip, a.cidrs)
	}
	return a.svcIPs[i].Allocate(ip)
}

func (a *allocs) releaseIP(ip netip.Addr) {
	if i := a.cidrFor(ip); i >= 0 {
		a.svcIPs[i].Release(ip)
	}
}

// families returns the IP families (4 or 6) a service gets, in order,
// following spec.ipFamilies and spec.ipFamilyPolicy against the
// configured service CIDRs.
func (a *allocs) families(s *Service) ([]int, error) {
	have := map[int]bool{}
	var order []int
	for _, p := range a.cidrs {
		f := famOf(p.Addr())
		have[f] = true
		order = append(order, f)
	}
	var want []int
	for _, f := range s.Spec.IPFamilies {
		want = append(want, map[string]int{"IPv4": 4, "IPv6": 6}[f])
	}
	for _, ip := range clusterIPsOf(s) {
		if len(want) < len(clusterIPsOf(s)) {
			want = append(want, famOf(ip))
		}
	}
	policy := s.Spec.IPFamilyPolicy
	if policy == "" {
		policy = "SingleStack"
		if len(want) > 1 {
			policy = "RequireDualStack"
		}
	}
	if len(want) == 0 {
		want = []int{order[0]}
	}
	if policy != "SingleStack" && len(want) == 1 {
		for _, f := range order {
			if f != want[0] {
				want = append(want, f)
			}
		}
	}
	if policy == "SingleStack" && len(want) > 1 {
		return nil, ferr("spec.ipFamilyPolicy", "SingleStack with %d families", len(want))
	}
	var out []int
	for i, f := range want {
		if !have[f] {
			if policy == "PreferDualStack" && i > 0 {
				continue
			}
			return nil, ferr("spec.ipFamilies", "IPv%d is not served by --service-cidr %v", f, a.cidrs)
		}
		out = append(out, f)
	}
	if policy == "RequireDualStack" && len(out) < 2 {
		return nil, ferr("spec.ipFamilyPolicy", "RequireDualStack needs an IPv4 and an IPv6 service CIDR")
	}
	return out, nil
}

func famOf(ip netip.Addr) int {
	if ip.Is4() {
		return 4
	}
	return 6
}

func clusterIPsOf(s *Service) []netip.Addr {
	list := s.Spec.ClusterIPs
	if len(list) == 0 && s.Spec.ClusterIP != "" {
		list = []string{s.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, x := range list {
		if ip, err := netip.ParseAddr(x); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

func portKey(p *ServicePort) string { return p.Protocol + "/" + strconv.Itoa(int(p.Port)) }

// assign gives s what it needs, reusing what it held. On error nothing
// changes: values taken for s are given back and its previous assignment
// stays held.
func (a *allocs) assign(s *Service) (Assignment, error) {
	key := s.Metadata.Namespace + "/" + s.Metadata.Name
	prev := a.held[key]
	var next Assignment
	var took []func()
	undo := func() {
		for _, f := range took {
			f()
		}
	}
	keep := map[string]bool{} // values of prev carried into next, as "ip:..." or "port:..."

	// Cluster IPs.
	if s.Spec.Type != "ExternalName" && s.Spec.ClusterIP != "None" && !(len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIPs[0] == "None") {
		fams, err := a.families(s)
		if err != nil {
			return prev, err
		}
		explicit := clusterIPsOf(s)
		for i, f := range fams {
			var ip netip.Addr
			if i < len(explicit) {
				ip = explicit[i]
				if famOf(ip) != f {
					undo()
					return prev, ferr("spec.clusterIPs", "%s does not match family IPv%d", ip, f)
				}
			} else {
				for _, x := range prev.ClusterIPs {
					if p, err := netip.ParseAddr(x); err == nil && famOf(p) == f && !keep["ip:"+x] {
						ip = p
						break
					}
				}
			}
			switch {
			case ip.IsValid() && containsStr(prev.ClusterIPs, ip.String()):
				keep["ip:"+ip.String()] = true
			case ip.IsValid():
				if err := a.allocIP(ip); err != nil {
					undo()
					return prev, ferr(fieldIP(i), "%s: %w", ip, conflict(err))
				}
				took = append(took, func() { a.releaseIP(ip) })
			default:
				idx := -1
				for j, p := range a.cidrs {
					if famOf(p.Addr()) == f {
						idx = j
					}
				}
				got, err := a.svcIPs[idx].AllocateNext()
				if err != nil {
					undo()
					return prev, ferr("spec.clusterIP", "%s: %v", a.cidrs[idx], err)
				}
				ip = got
				took = append(took, func() { a.releaseIP(got) })
			}
			next.ClusterIPs = append(next.ClusterIPs, ip.String())
		}
	}

	// Node ports.
	if s.Spec.Type == "NodePort" || s.Spec.Type == "LoadBalancer" {
		next.NodePorts = map[string]uint16{}
		byNumber := map[uint16]bool{} // one service may use one node port for TCP and UDP
		for i := range s.Spec.Ports {
			sp := &s.Spec.Ports[i]
			k := portKey(sp)
			want := uint16(sp.NodePort)
			if want == 0 {
				want = prev.NodePorts[k]
			}
			switch {
			case want != 0 && (byNumber[want] || prevHasPort(prev, want) && !keep["port:"+k]):
				keep["port:"+k] = true
			case want != 0:
				if err := a.ports.Allocate(want); err != nil {
					undo()
					return prev, ferr(fmt.Sprintf("spec.ports[%d].nodePort", i), "%d: %w", want, conflict(err))
				}
				w := want
				took = append(took, func() { a.ports.Release(w) })
			default:
				got, err := a.ports.AllocateNext()
				if err != nil {
					undo()
					return prev, ferr(fmt.Sprintf("spec.ports[%d].nodePort", i), "%v", err)
				}
				want = got
				took = append(took, func() { a.ports.Release(got) })
			}
			byNumber[want] = true
			next.NodePorts[k] = want
		}
		if s.Spec.Type == "LoadBalancer" && s.Spec.ExternalTrafficPolicy == "Local" {
			hc := prev.HealthCheckNodePort
			if hc == 0 {
				got, err := a.ports.AllocateNext()
				if err != nil {
					undo()
					return prev, ferr("spec.healthCheckNodePort", "%v", err)
				}
				hc = got
				took = append(took, func() { a.ports.Release(got) })
			}
			next.HealthCheckNodePort = hc
		}
	}

	// Load-balancer address.
	if s.Spec.Type == "LoadBalancer" && a.lb != nil {
		ip, ports, err := a.assignLB(s, key, prev)
		if err != nil {
			undo()
			return prev, err
		}
		next.LoadBalancerIP = ip.String()
		next.LBShareKey = s.Metadata.Annotations[AnnotationAllowShared]
		next.LBPorts = ports
	}

	// Give back what prev held and next does not.
	for _, x := range prev.ClusterIPs {
		if !containsStr(next.ClusterIPs, x) {
			if ip, err := netip.ParseAddr(x); err == nil {
				a.releaseIP(ip)
			}
		}
	}
	for _, p := range prev.NodePorts {
		if !nodePortUsed(next, p) {
			a.ports.Release(p)
		}
	}
	if prev.HealthCheckNodePort != 0 && !nodePortUsed(next, prev.HealthCheckNodePort) {
		a.ports.Release(prev.HealthCheckNodePort)
	}
	// Assign moved a changed address itself; a service that stopped being
	// a LoadBalancer gives its address back.
	if prev.LoadBalancerIP != "" && next.LoadBalancerIP == "" && a.lb != nil {
		a.lb.Release(key)
	}
	a.held[key] = next
	return next, nil
}

// assignLB gives a LoadBalancer service its ingress address from the pool,
// honouring a requested one and sharing by MetalLB's annotation; it
// returns the address and the service's ports on it ("TCP/80"), sorted.
// On error the pool is unchanged.
func (a *allocs) assignLB(s *Service, key string, prev Assignment) (netip.Addr, []string, error) {
	req := allocator.LBRequest{SharingKey: s.Metadata.Annotations[AnnotationAllowShared]}
	var ports []string
	for i := range s.Spec.Ports {
		proto, err := allocator.ParseProtocol(s.Spec.Ports[i].Protocol)
		if err != nil {
			return netip.Addr{}, nil, ferr(fmt.Sprintf("spec.ports[%d].protocol", i), "%w", err)
		}
		p := allocator.PortProto{Protocol: proto, Port: uint16(s.Spec.Ports[i].Port)}
		req.Ports = append(req.Ports, p)
		ports = append(ports, p.String())
	}
	sort.Strings(ports)
	field := "spec.loadBalancerIP"
	if v := s.Metadata.Annotations[AnnotationLBIPs]; v != "" {
		field = "metadata.annotations[" + AnnotationLBIPs + "]"
		// One address per family may be listed; this node serves the first.
		f := splitList(v)[0]
		ip, err := netip.ParseAddr(f)
		if err != nil {
			return ip, nil, ferr(field, "%q is not an IP address", f)
		}
		req.Addr = ip.Unmap()
	} else if s.Spec.LoadBalancerIP != "" {
		req.Addr, _ = netip.ParseAddr(s.Spec.LoadBalancerIP)
	}
	if !req.Addr.IsValid() && prev.LoadBalancerIP != "" {
		// Keep what the service had, as a controller would across restarts.
		req.Addr, _ = netip.ParseAddr(prev.LoadBalancerIP)
	}
	ip, err := a.lb.Assign(key, req)
	switch {
	case err == nil:
		return ip, ports, nil
	case errors.Is(err, allocator.ErrNotInPool):
		err = fmt.Errorf("%w: %s is not in --loadbalancer-pool", ErrConflict, req.Addr)
	case errors.Is(err, allocator.ErrInUse):
		err = fmt.Errorf("%w: %s is held by %s (share it by giving each the %s annotation with one key)",
			ErrConflict, req.Addr, strings.Join(a.lb.Users(req.Addr), ", "), AnnotationAllowShared)
	case errors.Is(err, allocator.ErrPortConflict):
		err = fmt.Errorf("%w: %s is shared with %s, which uses one of the ports %v",
			ErrConflict, req.Addr, strings.Join(a.lb.Users(req.Addr), ", "), ports)
	case errors.Is(err, allocator.ErrPoolFull):
		err = fmt.Errorf("--loadbalancer-pool: %w", allocator.ErrFull)
	}
	return ip, nil, ferr(field, "%w", err)
}

// portProtos parses the "TCP/80" forms an Assignment stores.
func portProtos(ss []string) []allocator.PortProto {
	var out []allocator.PortProto
	for _, s := range ss {
		name, port, _ := strings.Cut(s, "/")
		proto, perr := allocator.ParseProtocol(name)
		if n, err := strconv.ParseUint(port, 10, 16); err == nil && perr == nil {
			out = append(out, allocator.PortProto{Protocol: proto, Port: uint16(n)})
		}
	}
	return out
}

// release gives back everything key holds; for deleted services.
func (a *allocs) release(key string) {
	prev, ok := a.held[key]
	if !ok {
		return
	}
	for _, x := range prev.ClusterIPs {
		if ip, err := netip.ParseAddr(x); err == nil {
			a.releaseIP(ip)
		}
	}
	for _, p := range prev.NodePorts {
		a.ports.Release(p)
	}
	if prev.HealthCheckNodePort != 0 {
		a.ports.Release(prev.HealthCheckNodePort)
	}
	if prev.LoadBalancerIP != "" && a.lb != nil {
		a.lb.Release(key)
	}
	delete(a.held, key)
}

// heldKeys lists the services holding allocations, sorted.
func (a *allocs) heldKeys() []string {
	var out []string
	for k := range a.held {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func conflict(err error) error {
	if errors.Is(err, allocator.ErrAllocated) {
		return fmt.Errorf("%w: already allocated to another service", ErrConflict)
	}
	if errors.Is(err, allocator.ErrNotInRange) {
		return fmt.Errorf("%w: not in the configured range", ErrConflict)
	}
	return err
}

func fieldIP(i int) string {
	if i == 0 {
		return "spec.clusterIP"
	}
	return fmt.Sprintf("spec.clusterIPs[%d]", i)
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func prevHasPort(prev Assignment, p uint16) bool {
	for _, x := range prev.NodePorts {
		if x == p {
			return true
		}
	}
	return false
}

func nodePortUsed(as Assignment, p uint16) bool {
	return prevHasPort(as, p) || as.HealthCheckNodePort == p
}
