package resolved

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/svcnet/svcnet/endpoints"
)

// ServiceType is a Service's spec.type. The zero value is ClusterIP,
// Kubernetes' default.
type ServiceType uint8

// The Service types.
const (
	ClusterIP ServiceType = iota
	NodePort
	LoadBalancer
	ExternalName
)

var typeNames = [...]string{ClusterIP: "ClusterIP", NodePort: "NodePort", LoadBalancer: "LoadBalancer", ExternalName: "ExternalName"}

// String returns the type as Kubernetes spells it; other values read
// "ServiceType(N)".
func (t ServiceType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "ServiceType(" + strconv.Itoa(int(t)) + ")"
}

// ParseServiceType parses a Kubernetes spec.type; the empty string is
// ClusterIP.
func ParseServiceType(s string) (ServiceType, error) {
	if s == "" {
		return ClusterIP, nil
	}
	for i, n := range typeNames {
		if s == n {
			return ServiceType(i), nil
		}
	}
	return 0, fmt.Errorf("resolved: unknown service type %q", s)
}

// MarshalText implements encoding.TextMarshaler; an unknown value is an error.
func (t ServiceType) MarshalText() ([]byte, error) {
	if int(t) >= len(typeNames) {
		return nil, fmt.Errorf("resolved: unknown service type %d", t)
	}
	return []byte(typeNames[t]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseServiceType.
func (t *ServiceType) UnmarshalText(b []byte) error {
	v, err := ParseServiceType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// DefaultAffinityTimeout is Kubernetes' ClientIP affinity timeout when a
// Service sets none: 10,800 s. MaxAffinityTimeout is the largest it accepts.
const (
	DefaultAffinityTimeout = 10800 * time.Second
	MaxAffinityTimeout     = 86400 * time.Second
)

// Port is one port of a resolved Service. The zero value is an unnamed TCP
// port 0 and is invalid.
type Port struct {
	Name     string
	Protocol Protocol
	Port     uint16
	// TargetPort is the numeric target; zero with an empty TargetPortName
	// means the same as Port. The resolved endpoint slices carry the
	// per-endpoint result, so a node agent never needs to resolve it.
	TargetPort uint16
	// TargetPortName is a named container port; empty means TargetPort.
	TargetPortName string
	// NodePort is the allocated node port; zero means none.
	NodePort uint16
	// AppProtocol is spec.ports[].appProtocol; empty means none.
	AppProtocol string
}

// Ref names a Service. The zero value names nothing.
type Ref struct{ Namespace, Name string }

// String returns "namespace/name".
func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// Service is one Service as the control plane resolved it: its spec, the
// addresses and ports allocated for it, and its endpoint slices. A Service
// handed out in a State is immutable: readers must not modify it. The zero
// value is invalid (no name).
type Service struct {
	Namespace, Name string
	// Revision is the State version at which this Service (or its slices)
	// last changed; a reader compares it to see what changed. Zero means
	// unknown, and a reader treats such a service as changed.
	Revision uint64
	Type     ServiceType
	// Headless is clusterIP: None; such a service has no ClusterIPs and
	// DNS answers with its endpoints' addresses.
	Headless bool
	// ClusterIPs holds at most one address per family, the primary first.
	ClusterIPs []netip.Addr
	// IPFamilies are the families the service uses, in order; a headless
	// service's endpoints are of these. Empty means the families of
	// ClusterIPs, or IPv4 when there are none.
	IPFamilies []IPFamily
	Ports      []Port
	// ExternalIPs are spec.externalIPs; the control plane admits only
	// those its configuration allows.
	ExternalIPs []netip.Addr
	// LoadBalancerIPs are the addresses given to a LoadBalancer service.
	LoadBalancerIPs []netip.Addr
	// LoadBalancerSourceRanges are the clients allowed to reach
	// LoadBalancerIPs; empty allows every client.
	LoadBalancerSourceRanges []netip.Prefix
	// HealthCheckNodePort is the port for external load balancers' health
	// checks of a Local external policy; zero means none.
	HealthCheckNodePort   uint16
	ExternalTrafficPolicy TrafficPolicy
	InternalTrafficPolicy TrafficPolicy
	// ClientIPAffinity is sessionAffinity: ClientIP.
	ClientIPAffinity bool
	// AffinityTimeout is the ClientIP affinity timeout; zero means
	// DefaultAffinityTimeout. It is ignored without ClientIPAffinity.
	AffinityTimeout time.Duration
	// ExternalName is the CNAME target of an ExternalName service, without
	// a trailing dot.
	ExternalName string
	// ConsistentHash opts the service into consistent-hash balancing
	// (Maglev) where the consumer offers it; false means the consumer's
	// default.
	ConsistentHash bool
	// TrafficDistribution is spec.trafficDistribution; the slices' hints
	// already follow it. Empty means none.
	TrafficDistribution string
	// PublishNotReadyAddresses is spec.publishNotReadyAddresses; the
	// slices' conditions already follow it.
	PublishNotReadyAddresses bool
	// Slices are the service's endpoint slices.
	Slices []endpoints.Slice
}

// Ref returns the service's name.
func (s *Service) Ref() Ref { return Ref{s.Namespace, s.Name} }

// Affinity returns the effective ClientIP affinity timeout: zero without
// affinity, DefaultAffinityTimeout when affinity is on and no timeout is
// set.
func (s *Service) Affinity() time.Duration {
	switch {
	case !s.ClientIPAffinity:
		return 0
	case s.AffinityTimeout == 0:
		return DefaultAffinityTimeout
	}
	return s.AffinityTimeout
}

// Families returns the families the service uses: IPFamilies, else the
// families of ClusterIPs, else IPv4.
func (s *Service) Families() []IPFamily {
	if len(s.IPFamilies) > 0 {
		return s.IPFamilies
	}
	var fams []IPFamily
	for _, a := range s.ClusterIPs {
		fams = append(fams, IPFamilyOf(a))
	}
	if len(fams) == 0 {
		return []IPFamily{IPv4}
	}
	return fams
}

// State is the whole resolved state at one version: every Service, sorted
// by namespace and name. A State handed out by a publisher is immutable and
// safe for concurrent reads. The zero value is the empty state at version
// zero.
type State struct {
	// Version increases with every change the control plane publishes.
	Version  uint64
	Services []*Service
}

// compareRef orders services by namespace, then name.
func compareRef(a, b Ref) int {
	return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
}

// Sort orders Services by namespace and name, as State requires.
func (st *State) Sort() {
	slices.SortFunc(st.Services, func(a, b *Service) int { return compareRef(a.Ref(), b.Ref()) })
}

// Lookup returns the service named r, or nil.
func (st *State) Lookup(r Ref) *Service {
	i, ok := slices.BinarySearchFunc(st.Services, r, func(s *Service, r Ref) int { return compareRef(s.Ref(), r) })
	if !ok {
		return nil
	}
	return st.Services[i]
}

// Diff compares two states and returns the services of next that are new
// or whose Revision differs from prev's (a zero Revision always counts as
// changed), and the names of prev's services next no longer has. Both
// states must be sorted.
func Diff(prev, next *State) (changed []*Service, removed []Ref) {
	i, j := 0, 0
	for i < len(prev.Services) || j < len(next.Services) {
		c := 0
		switch {
		case i == len(prev.Services):
			c = 1
		case j == len(next.Services):
			c = -1
		case prev.Services[i] == next.Services[j]:
			// One Service shared by both States (the usual case for all
			// but a few): same name, no strings to compare.
		default:
			c = compareRef(prev.Services[i].Ref(), next.Services[j].Ref())
		}
		switch {
		case c < 0:
			removed = append(removed, prev.Services[i].Ref())
			i++
		case c > 0:
			changed = append(changed, next.Services[j])
			j++
		default:
			if n := next.Services[j]; n.Revision == 0 || n.Revision != prev.Services[i].Revision {
				changed = append(changed, n)
			}
			i++
			j++
		}
	}
	return changed, removed
}
