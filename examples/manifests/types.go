package manifests

import (
	"github.com/svcnet/svcnet/endpoints"
	"net/netip"
	"strconv"
	"time"
)

// Source says where an object was read: a file name inside Config.Dir and
// the 0-based index of the document in it (counting "---" separators).
// The zero value names no file.
type Source struct {
	File string
	Doc  int
}

// Meta is the metadata every object carries. Namespace is "default" when the
// manifest leaves it out. The zero value is an unnamed object.
type Meta struct {
	Namespace, Name string
	Labels          map[string]string // nil when none
	Annotations     map[string]string // nil when none
}

// Key returns "namespace/name".
func (m *Meta) Key() string { return m.Namespace + "/" + m.Name }

// ServiceType is a Service's spec.type. The zero value is ClusterIP,
// Kubernetes' default. Its values are allocator.ServiceType's, so
// allocator.ServiceType(t) converts.
type ServiceType uint8

// Service types.
const (
	ClusterIP ServiceType = iota
	NodePort
	LoadBalancer
	ExternalName
)

var serviceTypes = [...]string{"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}

// String returns the Kubernetes spelling, or "ServiceType(N)".
func (t ServiceType) String() string {
	if int(t) < len(serviceTypes) {
		return serviceTypes[t]
	}
	return "ServiceType(" + strconv.Itoa(int(t)) + ")"
}

// IPFamilyPolicy is a Service's spec.ipFamilyPolicy. The zero value is
// SingleStack, Kubernetes' default when no second family is asked for. Its
// values are allocator.IPFamilyPolicy's, so allocator.IPFamilyPolicy(p)
// converts.
type IPFamilyPolicy uint8

// IP family policies.
const (
	SingleStack IPFamilyPolicy = iota
	PreferDualStack
	RequireDualStack
)

var familyPolicies = [...]string{"SingleStack", "PreferDualStack", "RequireDualStack"}

// String returns the Kubernetes spelling, or "IPFamilyPolicy(N)".
func (p IPFamilyPolicy) String() string {
	if int(p) < len(familyPolicies) {
		return familyPolicies[p]
	}
	return "IPFamilyPolicy(" + strconv.Itoa(int(p)) + ")"
}

// TargetPort is a service port's target: a number or a container port name.
// The zero value means "same as the service port", as in Kubernetes. It has
// the shape of endpoints.TargetPort, so endpoints.TargetPort(tp) converts.
type TargetPort struct {
	Number uint16 // used when Name is empty; zero means the service port
	Name   string // a named container port
}

// ServicePort is one entry of a Service's spec.ports. The zero value is an
// unnamed TCP port 0 and is never loaded.
type ServicePort struct {
	Name        string // empty only in a single-port service
	Protocol    endpoints.Protocol
	Port        uint16 // 1-65535
	TargetPort  TargetPort
	NodePort    uint16 // requested node port; zero means none requested
	AppProtocol string // empty means none
}

// Service is a core/v1 Service, checked and typed. A loaded Service passed
// every check of this package; its slices and maps are shared with the
// Loader's cache and must not be modified. The zero value is a nameless
// ClusterIP service and is never loaded.
type Service struct {
	Source Source
	Meta
	Type ServiceType
	// Selector is spec.selector; nil means the service has none and its
	// endpoints come from EndpointSlices.
	Selector map[string]string
	Ports    []ServicePort
	// Headless is spec.clusterIP: None.
	Headless bool
	// ClusterIPs are the requested spec.clusterIPs (or spec.clusterIP), at
	// most one per family; empty asks the allocator for them.
	ClusterIPs     []netip.Addr
	IPFamilies     []endpoints.IPFamily // requested families, in order; empty means the cluster's default
	IPFamilyPolicy IPFamilyPolicy
	// ExternalName is the DNS name of an ExternalName service, without a
	// trailing dot; empty for other types.
	ExternalName string
	// ExternalIPs are spec.externalIPs; each lies inside Config.ExternalIPCIDRs.
	ExternalIPs []netip.Addr
	// LoadBalancerIPs are the requested LoadBalancer addresses: the MetalLB
	// annotation metallb.universe.tf/loadBalancerIPs, else spec.loadBalancerIP.
	// Empty means the pool picks.
	LoadBalancerIPs []netip.Addr
	// LoadBalancerIngress are the addresses of status.loadBalancer.ingress,
	// set by an outside load balancer; empty means none.
	LoadBalancerIngress []netip.Addr
	// SourceRanges are spec.loadBalancerSourceRanges, masked; empty allows all.
	SourceRanges []netip.Prefix
	// AffinityTimeout is the ClientIP session affinity timeout; zero means
	// sessionAffinity None. ClientIP without a timeout gives Kubernetes'
	// default of 3 hours.
	AffinityTimeout       time.Duration
	ExternalTrafficPolicy endpoints.TrafficPolicy
	InternalTrafficPolicy endpoints.TrafficPolicy
	// HealthCheckNodePort is the requested spec.healthCheckNodePort; zero
	// means none requested.
	HealthCheckNodePort      uint16
	PublishNotReadyAddresses bool
	// NoLoadBalancerNodePorts is spec.allocateLoadBalancerNodePorts: false;
	// zero means a LoadBalancer service gets node ports, Kubernetes' default.
	NoLoadBalancerNodePorts bool
	// TrafficDistribution is spec.trafficDistribution ("PreferClose",
	// "PreferSameZone", "PreferSameNode"); empty means none.
	TrafficDistribution string
}

// ContainerPort is a port a pod's container declares. The zero value is an
// unnamed TCP port 0 and is never loaded.
type ContainerPort struct {
	Name     string
	Protocol endpoints.Protocol
	Number   uint16
}

// Pod is a core/v1 Pod as kubelet reports it, checked and typed. Its slices
// and maps are shared with the Loader's cache and must not be modified. The
// zero value is a nameless pod and is never loaded.
type Pod struct {
	Source Source
	Meta
	Node      string // spec.nodeName; empty means not scheduled
	Hostname  string // spec.hostname; empty means none
	Subdomain string // spec.subdomain; empty means none
	Phase     string // status.phase; empty means unknown
	Ready     bool   // the Ready condition is True
	Deleting  bool   // metadata.deletionTimestamp is set
	// IPs are status.podIPs, else status.podIP. Empty means the pod has no
	// address yet and yields no endpoint.
	IPs []netip.Addr
	// Ports are the container ports of spec.containers and of sidecar
	// init containers (restartPolicy: Always), which keep running.
	Ports []ContainerPort
}

// Ref is an EndpointSlice endpoint's targetRef. The zero value refers to
// nothing.
type Ref struct {
	Kind, Namespace, Name string
}

// Endpoint is one entry of an EndpointSlice's endpoints. Conditions left out
// of the manifest take the API's defaults: ready and serving true,
// terminating false. The zero value is an endpoint without address and is
// never loaded.
type Endpoint struct {
	// Addresses are the endpoint's addresses, all of the slice's family;
	// empty in an FQDN slice. Kubernetes programs only the first.
	Addresses   []netip.Addr
	FQDN        string // the address of an FQDN slice's endpoint
	Ready       bool
	Serving     bool
	Terminating bool
	Hostname    string
	Node        string
	Zone        string
	TargetRef   Ref
}

// SlicePort is one entry of an EndpointSlice's ports. Unlike the API, a
// loaded port always has a number: the dataplane cannot program one without.
// The zero value is never loaded.
type SlicePort struct {
	Name        string
	Protocol    endpoints.Protocol
	Port        uint16
	AppProtocol string
}

// EndpointSlice is a discovery.k8s.io/v1 EndpointSlice, as written for
// services without a selector, checked and typed. Its slices and maps are
// shared with the Loader's cache and must not be modified. The zero value
// is never loaded.
type EndpointSlice struct {
	Source Source
	Meta
	// Service is the kubernetes.io/service-name label.
	Service string
	// Family is the addressType; zero means FQDN.
	Family    endpoints.IPFamily
	Endpoints []Endpoint
	Ports     []SlicePort
}

// Node is a core/v1 Node: its zone and addresses. The zero value is never
// loaded.
type Node struct {
	Source Source
	Meta
	Zone      string       // the topology.kubernetes.io/zone label
	Addresses []netip.Addr // InternalIP and ExternalIP addresses, in order
}

// Set is everything one Load accepted, in file-name order and, inside a
// file, document order. The zero value is an empty set. A Set is a plain
// value: its slices are the caller's, but the objects' inner slices and
// maps are shared with the Loader's cache, so a Set is safe for concurrent
// reads and must not be modified.
type Set struct {
	Services       []Service
	Pods           []Pod
	EndpointSlices []EndpointSlice
	Nodes          []Node
}

// Well-known labels and annotations the loader reads.
const (
	LabelServiceName = "kubernetes.io/service-name"
	LabelZone        = "topology.kubernetes.io/zone"
	// AnnotationLBIPs requests LoadBalancer addresses, as MetalLB spells it.
	AnnotationLBIPs = "metallb.universe.tf/loadBalancerIPs"
)
