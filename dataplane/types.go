package dataplane

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// Protocol is the layer-4 protocol of a service port. The zero value is TCP.
type Protocol uint8

// Protocols a service port may use.
const (
	TCP Protocol = iota
	UDP
	SCTP
)

// String returns the protocol's nft name: "tcp", "udp" or "sctp".
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return "invalid"
}

// TrafficPolicy is a Kubernetes external or internal traffic policy. The zero
// value is PolicyCluster, the Kubernetes default.
type TrafficPolicy uint8

// Traffic policies.
const (
	// PolicyCluster sends traffic to any usable endpoint in the cluster.
	PolicyCluster TrafficPolicy = iota
	// PolicyLocal sends traffic only to endpoints on this node and, for
	// external traffic, keeps the client's source address.
	PolicyLocal
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
)

// Endpoint is one backend of a service port, as EndpointSlice conditions
// describe it. The zero value is an invalid endpoint (no address).
type Endpoint struct {
	Addr        netip.AddrPort
	Ready       bool
	Serving     bool
	Terminating bool
	// Local reports that the endpoint runs on this node.
	Local bool
	Zone  string
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

// ServicePort is one port of one service as this node must serve it. The zero
// value is invalid: a ServicePort needs a Name and at least one frontend
// (ClusterIPs, NodePort, ExternalIPs or LoadBalancerIPs).
//
// Endpoint usability follows Kubernetes: ready endpoints are used; when none
// is ready, serving-and-terminating endpoints are used as the fallback.
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
	Endpoints       []Endpoint
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
	// Sync makes the rules match svcs in one atomic batch.
	Sync(ctx context.Context, svcs []ServicePort) error
	// Update adds or replaces upsert and deletes remove, leaving every
	// other service port as it was, in one atomic batch; it needs a
	// successful Sync first (ErrNeedSync).
	Update(ctx context.Context, upsert []ServicePort, remove []Key) error
	// Resync forces the next Sync to rewrite the whole table.
	Resync()
	// Cleanup removes our table and nothing else.
	Cleanup(ctx context.Context) error
	// Close releases the netlink connection; it does not remove rules.
	Close() error
}
