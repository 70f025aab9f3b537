package controlplane

import (
	"context"
	"net/netip"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

// Service is one Service as written by its owner. The zero value is
// invalid (no name).
type Service struct {
	// Spec is the service's spec in resolved form, with requested values
	// where Kubernetes lets a user request them: ClusterIPs, each port's
	// NodePort, HealthCheckNodePort, LoadBalancerIPs (zero means
	// allocate). Spec.Revision is ignored. Spec.Slices are read only for a
	// service without a Selector: their endpoints are managed by someone
	// else, as with Kubernetes' selectorless services.
	Spec resolved.Service
	// Selector picks the service's pods; nil or empty means none (see
	// Spec.Slices).
	Selector map[string]string
	// Labels are copied onto the service's endpoint slices.
	Labels map[string]string
	// IPFamilyPolicy is spec.ipFamilyPolicy; zero means SingleStack.
	IPFamilyPolicy allocator.IPFamilyPolicy
	// NoLoadBalancerNodePorts is spec.allocateLoadBalancerNodePorts: false.
	NoLoadBalancerNodePorts bool
	// LoadBalancerPool and SharingKey choose and share a LoadBalancer
	// address (MetalLB's address-pool and allow-shared-ip); zero means
	// any pool, not shared.
	LoadBalancerPool, SharingKey string
	// LoadBalancerIngress are the addresses an outside load-balancer
	// controller reported in status.loadBalancer.ingress. On a
	// LoadBalancer service they are its LoadBalancer addresses, as
	// kube-proxy programs the status, and the allocator assigns none from
	// its pools; Spec.LoadBalancerIPs is then ignored. Zero (empty) means
	// the allocator assigns them.
	LoadBalancerIngress []netip.Addr
}

// Input is everything a source holds at one moment. The zero value is an
// empty cluster.
//
// Resolve keeps the slices and maps of an Input it was given, to
// recognise an unchanged service cheaply next time: once passed, they
// must not be modified. A changed object comes with new slices and maps,
// as with Kubernetes' informer caches and the manifests Loader.
type Input struct {
	Services []Service
	// Workloads are the pods; those without an IP are never endpoints.
	Workloads []endpoints.Workload
}

// Source is where Services and Pods come from: a manifests directory, an
// orchestrator's own store. Implementations must be safe for use by one
// Run at a time.
type Source interface {
	// Next returns the input once its generation is above after (zero
	// asks for the first), with that generation, waiting if needed; it
	// returns ctx's error when ctx ends first.
	Next(ctx context.Context, after uint64) (Input, uint64, error)
}

// Sink receives every resolved state the control plane publishes: a
// *resolved.Latest for node agents in the same process, an etcd
// publisher for many nodes.
type Sink interface {
	Publish(ctx context.Context, st *resolved.State) error
}

// Config configures a ControlPlane. Allocator is required.
type Config struct {
	// Allocator allocates each Service's addresses and ports; its grace
	// period keeps a service that disappears for a moment (a manifest
	// being rewritten) on the same values when it comes back. Restore its
	// snapshot before New to keep allocations across restarts. After New,
	// change nothing a service the source still lists holds (no Restore,
	// no Allocate or Release for it): Resolve reuses a service's values
	// while its input is unchanged. Reading, Expire, and releasing
	// services the source no longer lists are fine.
	Allocator *allocator.Services
	// Persist stores the allocator's snapshot after every change. A
	// failure is retried by Run every RetryInterval and reported in
	// Health until it succeeds. Zero (nil) means allocations live only in
	// memory.
	Persist func(snapshot []byte) error
	// ExternalIPs are the prefixes spec.externalIPs may come from. Zero
	// (empty) allows none: a service that asks for one is refused, as
	// kube-apiserver's DenyServiceExternalIPs does, because an external
	// IP lets a tenant capture traffic meant for others (CVE-2020-8554).
	ExternalIPs []netip.Prefix
	// Endpoints configures the endpoint slices. Zero means Kubernetes'
	// defaults (100 endpoints per slice).
	Endpoints endpoints.Config
	// Now is the clock for the allocator's grace period. Zero means
	// time.Now.
	Now func() time.Time
}
