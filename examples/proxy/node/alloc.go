package node

import (
	"errors"
	"fmt"
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

// maxPoolBlock caps the covering prefix of a start-end pool range; the
// addresses around the range are reserved in its allocator.
const maxPoolBlock = 1 << 16

// allocs holds every allocator and what each service holds. Not safe for
// concurrent use; the node's sync loop owns it.
type allocs struct {
	cidrs    []netip.Prefix
	svcIPs   []*allocator.IPRange // parallel to cidrs
	portSpec string
	ports    *allocator.PortRange
	pool     []lbBlock
	held     map[string]Assignment // by "namespace/name"
	// lbShare maps an LB address to the sharing key and the ports of each
	// service on it.
	lbUsers map[netip.Addr]map[string]lbUse
}

type lbBlock struct {
	key   string
	rng   AddrRange
	alloc *allocator.IPRange
}

type lbUse struct {
	shareKey string
	ports    map[string]bool // "TCP/80"
}

func newAllocs(cfg *Config, st *State) (*allocs, error) {
	a := &allocs{
		cidrs:    cfg.ServiceCIDRs,
		portSpec: fmt.Sprintf("%d-%d", cfg.NodePortMin, cfg.NodePortMax),
		held:     map[string]Assignment{},
		lbUsers:  map[netip.Addr]map[string]lbUse{},
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
	for _, r := range cfg.LBPool {
		b, err := newLBBlock(r)
		if err != nil {
			return nil, err
		}
		a.pool = append(a.pool, b)
	}
	if st != nil {
		a.restore(st)
	}
	return a, nil
}

func newLBBlock(r AddrRange) (lbBlock, error) {
	bits := r.From.BitLen()
	p := netip.PrefixFrom(r.From, bits)
	for ; !p.Contains(r.To); p = netip.PrefixFrom(r.From, p.Bits()-1).Masked() {
	}
	if host := bits - p.Bits(); host > 16 {
		return lbBlock{}, fmt.Errorf("loadbalancer pool %s: %w: the range spans more than %d addresses", r, ErrBadFlag, maxPoolBlock)
	}
	al, err := allocator.NewIPRange(p, allocator.Config{Strategy: allocator.LowestFree})
	if err != nil {
		return lbBlock{}, fmt.Errorf("loadbalancer pool %s: %w", r, err)
	}
	// The allocator works on whole prefixes; hold what lies outside the range.
	for x := p.Addr(); p.Contains(x); x = x.Next() {
		if x.Less(r.From) || r.To.Less(x) {
			al.Allocate(x) // excluded network/broadcast addresses report ErrNotInRange: fine
		}
		if !x.Next().IsValid() {
			break
		}
	}
	return lbBlock{key: r.String(), rng: r, alloc: al}, nil
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
	for _, bl := range a.pool {
		if b, ok := st.LBPool[bl.key]; !ok || bl.alloc.Restore(b) != nil {
			restored = false
		}
	}
	for k, as := range st.Services {
		if !restored {
			if err := a.reserve(as); err != nil {
				continue // no longer fits the configuration: reallocated on sync
			}
		}
		a.held[k] = as
		if ip, err := netip.ParseAddr(as.LoadBalancerIP); err == nil && a.block(ip) != nil {
			if a.lbUsers[ip] == nil {
				a.lbUsers[ip] = map[string]lbUse{}
			}
			u := lbUse{shareKey: as.LBShareKey, ports: map[string]bool{}}
			for _, p := range as.LBPorts {
				u.ports[p] = true
			}
			a.lbUsers[ip][k] = u
		}
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
func (a *allocs) reserve(as Assignment) error {
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
	if ip, err := netip.ParseAddr(as.LoadBalancerIP); err == nil {
		if b := a.block(ip); b != nil {
			errs = append(errs, ignoreHeld(b.alloc.Allocate(ip)))
		}
	}
	return errors.Join(errs...)
}

func (a *allocs) state() *State {
	st := &State{
		ServiceIPs: map[string][]byte{},
		NodePorts:  map[string][]byte{a.portSpec: a.ports.Snapshot()},
		LBPool:     map[string][]byte{},
		Services:   map[string]Assignment{},
	}
	for i, p := range a.cidrs {
		st.ServiceIPs[p.String()] = a.svcIPs[i].Snapshot()
	}
	for _, b := range a.pool {
		st.LBPool[b.key] = b.alloc.Snapshot()
	}
	for k, v := range a.held {
		st.Services[k] = v
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

func (a *allocs) block(ip netip.Addr) *lbBlock {
	for i := range a.pool {
		r := a.pool[i].rng
		if !ip.Less(r.From) && !r.To.Less(ip) {
			return &a.pool[i]
		}
	}
	return nil
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
	if s.Spec.Type == "LoadBalancer" && len(a.pool) > 0 {
		ip, err := a.assignLB(s, key, prev, &took)
		if err != nil {
			undo()
			return prev, err
		}
		next.LoadBalancerIP = ip.String()
		next.LBShareKey = s.Metadata.Annotations[AnnotationAllowShared]
		for p := range a.lbUsers[ip][key].ports {
			next.LBPorts = append(next.LBPorts, p)
		}
		sort.Strings(next.LBPorts)
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
	if prev.LoadBalancerIP != "" && prev.LoadBalancerIP != next.LoadBalancerIP {
		a.dropLB(key, prev.LoadBalancerIP)
	}
	a.held[key] = next
	return next, nil
}

func (a *allocs) assignLB(s *Service, key string, prev Assignment, took *[]func()) (netip.Addr, error) {
	share := s.Metadata.Annotations[AnnotationAllowShared]
	ports := map[string]bool{}
	for i := range s.Spec.Ports {
		ports[portKey(&s.Spec.Ports[i])] = true
	}
	var want netip.Addr
	field := "spec.loadBalancerIP"
	if v := s.Metadata.Annotations[AnnotationLBIPs]; v != "" {
		field = "metadata.annotations[" + AnnotationLBIPs + "]"
		for _, f := range splitList(v) {
			ip, err := netip.ParseAddr(f)
			if err != nil {
				return want, ferr(field, "%q is not an IP address", f)
			}
			if famOf(ip) == famOfFirstPool(a) || !want.IsValid() {
				want = ip
			}
		}
	} else if s.Spec.LoadBalancerIP != "" {
		want, _ = netip.ParseAddr(s.Spec.LoadBalancerIP)
	}
	if !want.IsValid() && prev.LoadBalancerIP != "" {
		want, _ = netip.ParseAddr(prev.LoadBalancerIP)
	}
	if want.IsValid() {
		b := a.block(want)
		if b == nil {
			return want, ferr(field, "%s: %w", want, fmt.Errorf("%w: not in --loadbalancer-pool", ErrConflict))
		}
		users := a.lbUsers[want]
		if _, mine := users[key]; !mine && len(users) > 0 {
			for other, u := range users {
				if share == "" || u.shareKey != share {
					return want, ferr(field, "%s: %w", want, fmt.Errorf("%w: held by service %s (share it by giving both the %s annotation with one key)", ErrConflict, other, AnnotationAllowShared))
				}
				for p := range ports {
					if u.ports[p] {
						return want, ferr(field, "%s: %w", want, fmt.Errorf("%w: port %s already used on it by service %s", ErrConflict, p, other))
					}
				}
			}
		} else if !mine {
			if err := b.alloc.Allocate(want); err != nil && !errors.Is(err, allocator.ErrAllocated) {
				return want, ferr(field, "%s: %w", want, conflict(err))
			}
			w := want
			*took = append(*took, func() { a.dropLB(key, w.String()) })
		}
	} else {
		// Share with a service of the same key when ports allow, as MetalLB does.
		if share != "" {
			for ip, users := range a.lbUsers {
				if canShare(users, key, share, ports) {
					want = ip
					break
				}
			}
		}
		if !want.IsValid() {
			var err error
			for i := range a.pool {
				if want, err = a.pool[i].alloc.AllocateNext(); err == nil {
					break
				}
			}
			if err != nil || !want.IsValid() {
				return want, ferr(field, "%v", fmt.Errorf("--loadbalancer-pool: %w", allocator.ErrFull))
			}
			w := want
			*took = append(*took, func() { a.dropLB(key, w.String()) })
		}
	}
	if a.lbUsers[want] == nil {
		a.lbUsers[want] = map[string]lbUse{}
	}
	a.lbUsers[want][key] = lbUse{shareKey: share, ports: ports}
	return want, nil
}

func canShare(users map[string]lbUse, key, share string, ports map[string]bool) bool {
	if len(users) == 0 {
		return false
	}
	for k, u := range users {
		if k == key || u.shareKey != share {
			return false
		}
		for p := range ports {
			if u.ports[p] {
				return false
			}
		}
	}
	return true
}

func famOfFirstPool(a *allocs) int {
	if len(a.pool) == 0 {
		return 4
	}
	return famOf(a.pool[0].rng.From)
}

// dropLB removes key from ip's users and frees ip when nobody is left.
func (a *allocs) dropLB(key, ipStr string) {
	ip, err := netip.ParseAddr(ipStr)
	if err != nil {
		return
	}
	delete(a.lbUsers[ip], key)
	if len(a.lbUsers[ip]) == 0 {
		delete(a.lbUsers, ip)
		if b := a.block(ip); b != nil {
			b.alloc.Release(ip)
		}
	}
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
	if prev.LoadBalancerIP != "" {
		a.dropLB(key, prev.LoadBalancerIP)
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
