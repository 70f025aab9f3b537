package allocator

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"
)

// DefaultGracePeriod is how long Services keeps a released service's allocation when
// ServicesConfig.GracePeriod is zero: long enough for an editor rewriting a manifest
// or a controller restarting, short enough that a deleted service's values come back
// to the pool soon.
const DefaultGracePeriod = 2 * time.Minute

// DefaultNodePortRange is Kubernetes' default --service-node-port-range.
const DefaultNodePortRange = "30000-32767"

// ServicesConfig configures Services. The zero value is invalid: at least one
// ClusterIP range is needed.
type ServicesConfig struct {
	// ClusterIPRanges are the ClusterIP prefixes, at most one per family, primary
	// first (kube-apiserver's --service-cluster-ip-range). Two mean a dual-stack
	// cluster.
	ClusterIPRanges []netip.Prefix
	// NodePortRange is the node port range, "lo-hi". Zero means DefaultNodePortRange.
	NodePortRange string
	// LoadBalancer assigns LoadBalancer addresses. Services owns it from then on: do
	// not change it through other calls. Zero (nil) means LoadBalancer services get no
	// address, as in a cluster without a load-balancer controller.
	LoadBalancer *LBAllocator
	// GracePeriod is how long Release keeps a service's allocation for a service that
	// comes back. Zero means DefaultGracePeriod; negative means release at once.
	GracePeriod time.Duration
	// Now is the clock Release stamps records with. Zero (nil) means time.Now.
	Now func() time.Time
	// Range configures the ClusterIP and node port allocators (strategy, random
	// source). Zero means RandomScan with a random seed.
	Range Config
}

// Services allocates everything a Kubernetes Service holds — ClusterIPs per family,
// node ports, a health-check node port, LoadBalancer addresses — with one call per
// service, keyed by a name such as "namespace/name". Every call is transactional:
// on error nothing changes. Build it with NewServices; the zero value is not usable.
// Safe for concurrent use.
type Services struct {
	fams  []IPFamily   // immutable: configured families, primary first
	ips   [2]*IPRange  // immutable pointers, by IPFamily.index; nil when not configured
	ports *PortRange   // immutable pointer
	lb    *LBAllocator // immutable pointer; may be nil
	grace time.Duration
	now   func() time.Time
	id    string // immutable: configuration identity checked by Restore

	mu   sync.Mutex // protects recs, gen and the allocators' contents as a whole
	recs map[string]*svcRecord
	gen  uint64 // bumped by every change to recs
}

// svcRecord is one service's allocation and what later requests are compared with.
type svcRecord struct {
	typ        ServiceType
	headless   bool
	fams       []IPFamily
	clusterIPs []netip.Addr
	ports      []ServicePort // NodePort is the allocated node port, zero for none
	hcnp       uint16
	lbIPs      []netip.Addr
	sharingKey string
	backendKey string
	released   time.Time // zero while the service exists
}

// NewServices returns a Services over cfg. It returns ErrInvalidRange for a bad
// prefix or port range or two prefixes of one family, and the errors of NewIPRange.
func NewServices(cfg ServicesConfig) (*Services, error) {
	if len(cfg.ClusterIPRanges) == 0 || len(cfg.ClusterIPRanges) > 2 {
		return nil, fmt.Errorf("%w: want one or two ClusterIP ranges, have %d", ErrInvalidRange, len(cfg.ClusterIPRanges))
	}
	s := &Services{lb: cfg.LoadBalancer, grace: cfg.GracePeriod, now: cfg.Now, recs: make(map[string]*svcRecord)}
	if s.grace == 0 {
		s.grace = DefaultGracePeriod
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, p := range cfg.ClusterIPRanges {
		f := IPFamilyOf(p.Addr())
		if f == 0 || s.ips[f.index()] != nil {
			return nil, fmt.Errorf("%w: ClusterIP range %v", ErrInvalidRange, p)
		}
		r, err := NewIPRange(p, cfg.Range)
		if err != nil {
			return nil, err
		}
		s.ips[f.index()] = r
		s.fams = append(s.fams, f)
		s.id += r.id + ";"
	}
	spec := cfg.NodePortRange
	if spec == "" {
		spec = DefaultNodePortRange
	}
	var err error
	if s.ports, err = NewPortRange(spec, cfg.Range); err != nil {
		return nil, err
	}
	s.id += s.ports.id + ";"
	if s.lb != nil {
		s.id += s.lb.id
	}
	return s, nil
}

// Allocate gives service key what req asks for and returns what it holds. Calling it
// again for the same key applies Kubernetes' update rules: held values are kept
// (a ClusterIP cannot change: ErrImmutable), a type that no longer needs node ports,
// a health-check port or a ClusterIP releases them, a port removed releases its node
// port, and the same request gives the same answer. A key released less than the
// grace period ago gets back exactly what it held. Errors: ErrInvalidService,
// ErrFamilyNotConfigured, ErrImmutable, ErrAllocated, ErrNotInRange, ErrFull and the
// LBAllocator's errors, each naming the field; on error nothing changes.
func (s *Services) Allocate(key string, req ServiceRequest) (ServiceAllocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.recs[key]
	if old == nil {
		old = &svcRecord{typ: ExternalName} // holds nothing
	}
	tx := &svcTxn{s: s}
	rec, err := tx.build(key, old, req)
	if err != nil {
		tx.undo()
		return ServiceAllocation{}, fmt.Errorf("service %q: %w", key, err)
	}
	s.releaseUnused(old, rec)
	if s.lb != nil && len(old.lbIPs) > 0 && len(rec.lbIPs) == 0 {
		s.lb.Release(key)
	}
	if _, held := s.recs[key]; !held || !old.same(rec) {
		s.gen++
	}
	s.recs[key] = rec
	return rec.allocation(), nil
}

// same reports whether r and o hold the same values, as a Snapshot
// records them.
func (r *svcRecord) same(o *svcRecord) bool {
	return r.typ == o.typ && r.headless == o.headless && slices.Equal(r.fams, o.fams) &&
		slices.Equal(r.clusterIPs, o.clusterIPs) && slices.Equal(r.ports, o.ports) && r.hcnp == o.hcnp &&
		slices.Equal(r.lbIPs, o.lbIPs) && r.sharingKey == o.sharingKey && r.backendKey == o.backendKey &&
		r.released.Equal(o.released)
}

// Generation returns a number that changes whenever what Snapshot would
// return does: a caller that persisted the snapshot of one generation
// need not take another until it changes (a repeated Allocate with the
// same answer changes nothing).
func (s *Services) Generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// Get returns what key holds, reporting false when it holds nothing (never allocated,
// or released and expired). A released key within its grace period is reported.
func (s *Services) Get(key string) (ServiceAllocation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recs[key]
	if rec == nil {
		return ServiceAllocation{}, false
	}
	return rec.allocation(), true
}

// Release marks key as gone: its allocation stays held for the grace period, so that
// a service that comes back within it gets the same values; Expire frees it later.
// With a negative GracePeriod it is freed at once. Releasing an unknown key is a
// no-op; releasing a released key keeps its first release time.
func (s *Services) Release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recs[key]
	switch {
	case rec == nil || !rec.released.IsZero():
	case s.grace < 0:
		s.free(key, rec)
		s.gen++
	default:
		rec.released = s.now()
		s.gen++
	}
}

// Expire frees every service released at or before now minus the grace period and
// returns their keys, sorted. Call it periodically with the current time; Services
// starts no goroutine of its own.
func (s *Services) Expire(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []string
	for key, rec := range s.recs {
		if !rec.released.IsZero() && !now.Before(rec.released.Add(s.grace)) {
			gone = append(gone, key)
		}
	}
	sort.Strings(gone)
	for _, key := range gone {
		s.free(key, s.recs[key])
		s.gen++
	}
	return gone
}

// free releases everything rec holds and forgets key.
func (s *Services) free(key string, rec *svcRecord) {
	s.releaseUnused(rec, &svcRecord{})
	if s.lb != nil && len(rec.lbIPs) > 0 {
		s.lb.Release(key)
	}
	delete(s.recs, key)
}

// releaseUnused frees the ClusterIPs and node ports old holds that rec does not.
func (s *Services) releaseUnused(old, rec *svcRecord) {
	for _, a := range old.clusterIPs {
		if !slices.Contains(rec.clusterIPs, a) {
			_ = s.ips[IPFamilyOf(a).index()].Release(a) // held, so in range
		}
	}
	keep := rec.nodePorts()
	for _, p := range old.nodePorts() {
		if !slices.Contains(keep, p) {
			_ = s.ports.Release(p) // held, so in range
		}
	}
}

// nodePorts returns every node port rec holds, the health-check one included.
func (r *svcRecord) nodePorts() []uint16 {
	var out []uint16
	for _, p := range r.ports {
		if p.NodePort != 0 && !slices.Contains(out, p.NodePort) {
			out = append(out, p.NodePort)
		}
	}
	if r.hcnp != 0 {
		out = append(out, r.hcnp)
	}
	return out
}

func (r *svcRecord) allocation() ServiceAllocation {
	a := ServiceAllocation{
		IPFamilies:          slices.Clone(r.fams),
		ClusterIPs:          slices.Clone(r.clusterIPs),
		HealthCheckNodePort: r.hcnp,
		LoadBalancerIPs:     slices.Clone(r.lbIPs),
	}
	if len(r.ports) > 0 {
		a.NodePorts = make([]uint16, len(r.ports))
		for i, p := range r.ports {
			a.NodePorts[i] = p.NodePort
		}
	}
	return a
}

// Keys returns the key of every service holding an allocation, released ones
// within their grace period included, sorted. A control plane restarting from a
// snapshot uses it to release the services its source no longer has.
func (s *Services) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.recs))
}

// Len returns the number of services holding an allocation, released ones within
// their grace period included.
func (s *Services) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}
