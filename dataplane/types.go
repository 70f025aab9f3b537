package dataplane

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// Balancing selects how the kernel spreads new connections over endpoints.
// The zero value is Random.
type Balancing uint8

// Balancing modes.
const (
	// Random picks uniformly with numgen random mod N.
	Random Balancing = iota
	// Weighted gives each endpoint slots in proportion to its Weight.
	Weighted
	// Maglev hashes each new flow's client address (and source port, with
	// ServicePort.HashSourcePort) with the kernel's jhash, under a fixed
	// seed, into a Maglev table of ServicePort.MaglevSize slots built by
	// balancer.MaglevTable (weights honoured): every node with the same
	// endpoints sends a client to the same endpoint, and removing one of N
	// endpoints moves about 1/N of clients. Each frontend costs MaglevSize
	// map elements in the kernel (see DefaultMaglevSize).
	Maglev
)

// Endpoint is one backend of a service port that traffic may use. The
// dataplane programs exactly the endpoints it is given: deciding which are
// usable (ready, else serving and terminating; topology hints; the node's
// own for a Local policy) is the caller's job, done once for every consumer
// by endpoints.AppendUsable. The zero value is invalid (no address).
type Endpoint struct {
	Addr netip.AddrPort
	// Weight is used by Weighted balancing; zero means 1.
	Weight uint32
}

// Key identifies a service port: Sync and Update allow one service port per
// key, and Update's remove names them by it. The zero Key names nothing.
type Key struct {
	Namespace, Name, PortName string
	Protocol                  Protocol
}

// Key returns the service port's identity.
func (sp *ServicePort) Key() Key { return Key{sp.Namespace, sp.Name, sp.PortName, sp.Protocol} }

// ServicePort is one port of one service as this node must serve it. The
// zero value is invalid: a ServicePort needs a Name, a Port and at least one
// frontend (ClusterIPs, NodePort, ExternalIPs or LoadBalancerIPs); Sync,
// Update and Render refuse one without (ErrInvalid).
//
// Endpoints and LocalEndpoints are used as given, in both families, sorted
// and with repeats dropped. The caller picks them, as a node agent does
// with endpoints.AppendUsable: Endpoints for the Cluster policy (node name
// and zone given, so that topology hints apply), LocalEndpoints for the
// Local policy (the usable endpoints on this node). Kubernetes computes the
// two lists separately, each with its own ready-else-terminating fallback,
// and so does the caller.
type ServicePort struct {
	Namespace string
	Name      string
	PortName  string
	Protocol  Protocol
	// ClusterIPs holds at most one IPv4 and one IPv6 address.
	ClusterIPs []netip.Addr
	Port       uint16
	// NodePort is zero when the service has none.
	NodePort                 uint16
	ExternalIPs              []netip.Addr
	LoadBalancerIPs          []netip.Addr
	LoadBalancerSourceRanges []netip.Prefix
	// AffinityTimeout is the ClientIP session affinity timeout; zero means no
	// affinity (sessionAffinity: None).
	AffinityTimeout time.Duration
	ExternalPolicy  TrafficPolicy
	InternalPolicy  TrafficPolicy
	Balancing       Balancing
	// MaglevSize is the Maglev table size of Maglev balancing, a prime no
	// smaller than the number of endpoints and at most MaxMaglevSize.
	// Zero means DefaultMaglevSize.
	MaglevSize uint32
	// HashSourcePort makes Maglev balancing hash the client's address and
	// source port, spreading one client's connections; false hashes the
	// address alone, pinning each client to one endpoint.
	HashSourcePort bool
	// Endpoints are where traffic under the Cluster policy goes.
	Endpoints []Endpoint
	// LocalEndpoints are where traffic under a Local policy goes: the
	// usable endpoints on this node. They are read only when
	// InternalPolicy or ExternalPolicy is PolicyLocal.
	LocalEndpoints []Endpoint
}

// Options describe the node and where the rules go. The zero value is usable:
// the current thread's namespace, table "svcnet", NodePorts on every local
// address, no cluster CIDRs (so no off-cluster masquerading) and a discarding
// logger.
type Options struct {
	// NetNS is the path of the network namespace to program, such as
	// /run/netns/x or /proc/<pid>/ns/net. Empty means the namespace of the
	// thread that calls New.
	NetNS string
	// Table is the name of our inet table. Empty means "svcnet".
	Table string
	// NodeAddresses restricts NodePorts to these addresses. Empty means every
	// local address except loopback.
	NodeAddresses []netip.Addr
	// ClusterCIDRs are the pod CIDRs; traffic to a ClusterIP from outside them
	// is masqueraded. Empty means no off-cluster masquerading.
	ClusterCIDRs []netip.Prefix
	// ServiceCIDRs are the ranges ClusterIPs come from; traffic to an address
	// in them that no service uses is dropped.
	ServiceCIDRs []netip.Prefix
	// Logger receives debug and error records. Nil discards them.
	Logger *slog.Logger
}

// Syncer keeps a ruleset in step with the desired services. Implementations
// are safe for concurrent use; calls are serialised.
type Syncer interface {
	// Sync makes the rules match svcs in one atomic batch, leaving out
	// (and reporting in a *SyncError) the service ports it refuses.
	Sync(ctx context.Context, svcs []ServicePort) (Stats, error)
	// Update adds or replaces upsert and deletes remove, leaving every
	// other service port as it was, in one atomic batch; it needs a
	// successful Sync first (ErrNeedSync).
	Update(ctx context.Context, upsert []ServicePort, remove []Key) (Stats, error)
	// Resync forces the next Sync to rewrite the whole table.
	Resync()
	// Cleanup removes our table and nothing else.
	Cleanup(ctx context.Context) error
	// Close releases the netlink connection; it does not remove rules.
	Close() error
}
