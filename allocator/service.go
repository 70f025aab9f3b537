package allocator

import (
	"fmt"
	"net/netip"
	"strconv"
)

// ServiceType is a Service's spec.type. The zero value is ClusterIP, Kubernetes'
// default.
type ServiceType uint8

// The Service types.
const (
	ClusterIP ServiceType = iota
	NodePort
	LoadBalancer
	ExternalName
)

var serviceTypeNames = [...]string{ClusterIP: "ClusterIP", NodePort: "NodePort", LoadBalancer: "LoadBalancer", ExternalName: "ExternalName"}

// String returns Kubernetes' spelling ("NodePort"); other values read "ServiceType(N)".
func (t ServiceType) String() string {
	if int(t) < len(serviceTypeNames) {
		return serviceTypeNames[t]
	}
	return "ServiceType(" + strconv.Itoa(int(t)) + ")"
}

// ParseServiceType parses Kubernetes' spelling; the empty string is ClusterIP.
func ParseServiceType(s string) (ServiceType, error) {
	if s == "" {
		return ClusterIP, nil
	}
	for i, n := range serviceTypeNames {
		if s == n {
			return ServiceType(i), nil
		}
	}
	return 0, fmt.Errorf("allocator: unknown service type %q", s)
}

// needsNodePorts reports whether a service of type t gets node ports by default.
func (t ServiceType) needsNodePorts() bool { return t == NodePort || t == LoadBalancer }

// IPFamilyPolicy is a Service's spec.ipFamilyPolicy. The zero value is SingleStack,
// Kubernetes' default.
type IPFamilyPolicy uint8

// The IP family policies.
const (
	SingleStack IPFamilyPolicy = iota
	PreferDualStack
	RequireDualStack
)

var policyNames = [...]string{SingleStack: "SingleStack", PreferDualStack: "PreferDualStack", RequireDualStack: "RequireDualStack"}

// String returns Kubernetes' spelling; other values read "IPFamilyPolicy(N)".
func (p IPFamilyPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "IPFamilyPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ParseIPFamilyPolicy parses Kubernetes' spelling; the empty string is SingleStack.
func ParseIPFamilyPolicy(s string) (IPFamilyPolicy, error) {
	if s == "" {
		return SingleStack, nil
	}
	for i, n := range policyNames {
		if s == n {
			return IPFamilyPolicy(i), nil
		}
	}
	return 0, fmt.Errorf("allocator: unknown ip family policy %q", s)
}

// ServicePort is one port of a ServiceRequest. The zero value is an unnamed TCP port 0
// asking for no particular node port.
type ServicePort struct {
	// Name identifies the port across updates: as Kubernetes does, a port that keeps
	// its name keeps its node port. Names are unique within a service; one port may be
	// unnamed.
	Name     string
	Protocol Protocol
	Port     uint16
	// NodePort requests a node port (spec.ports[].nodePort). Zero means keep the one
	// the port holds, else allocate one when the type needs it.
	NodePort uint16
}

// ServiceRequest is what Services.Allocate needs of a Service spec. The zero value is a
// ClusterIP service of the cluster's primary family with no ports. Fields a type does
// not use are ignored, as Kubernetes drops them on a change of type: node ports
// unless NodePort or LoadBalancer, the health-check node port unless LoadBalancer with
// ExternalTrafficPolicy Local, ClusterIPs and Headless for ExternalName, LoadBalancer
// fields unless LoadBalancer. So a repeated request always gets the same answer.
type ServiceRequest struct {
	Type ServiceType
	// Headless is spec.clusterIP "None": the service gets families but no ClusterIP.
	// It cannot change while the service keeps a type with a ClusterIP.
	Headless bool
	// ClusterIPs requests addresses (spec.clusterIPs), primary first, one per family.
	// Zero means keep what the service holds, else allocate. A held address cannot be
	// changed (ErrImmutable).
	ClusterIPs []netip.Addr
	// IPFamilyPolicy and IPFamilies are spec.ipFamilyPolicy and spec.ipFamilies.
	// Empty IPFamilies means the family of ClusterIPs, else the one the service holds,
	// else the cluster's primary family (the first of Config.ClusterIPRanges).
	IPFamilyPolicy IPFamilyPolicy
	IPFamilies     []IPFamily
	Ports          []ServicePort
	// NoLoadBalancerNodePorts is spec.allocateLoadBalancerNodePorts: false. Zero means
	// a LoadBalancer service gets node ports, Kubernetes' default; with it set, ports
	// requested or already held are still honoured.
	NoLoadBalancerNodePorts bool
	// ExternalTrafficPolicy Local gives a LoadBalancer service a health-check node port.
	ExternalTrafficPolicy TrafficPolicy
	// HealthCheckNodePort requests that port (spec.healthCheckNodePort). Zero means
	// keep the held one, else allocate.
	HealthCheckNodePort uint16
	// LoadBalancerIPs requests LoadBalancer addresses, at most one per family
	// (spec.loadBalancerIP, MetalLB's loadBalancerIPs annotation). Zero means any.
	LoadBalancerIPs []netip.Addr
	// LoadBalancerPool, SharingKey and BackendKey are LBRequest's Pool, SharingKey and
	// BackendKey.
	LoadBalancerPool, SharingKey, BackendKey string
	// ExternalLoadBalancer says an outside load-balancer controller gives the service
	// its addresses (it wrote status.loadBalancer.ingress): Services assigns none from
	// its LBAllocator and releases any it held. Zero means Services assigns them.
	ExternalLoadBalancer bool
}

// ServiceAllocation is what a service holds. The zero value holds nothing (an
// ExternalName service). Slices returned by Services are the caller's.
type ServiceAllocation struct {
	// IPFamilies are the service's families, primary first; set for headless services
	// too, empty for ExternalName.
	IPFamilies []IPFamily
	// ClusterIPs are parallel to IPFamilies; empty when headless or ExternalName.
	ClusterIPs []netip.Addr
	// NodePorts are parallel to the request's Ports; zero where a port has none. Ports
	// with one port number and different protocols share a node port, as Kubernetes.
	NodePorts []uint16
	// HealthCheckNodePort is set for LoadBalancer services with ExternalTrafficPolicy
	// Local.
	HealthCheckNodePort uint16
	// LoadBalancerIPs holds one address per family, in IPFamilies order; empty for
	// other types and when Config.LoadBalancer is nil.
	LoadBalancerIPs []netip.Addr
}
