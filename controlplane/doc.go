// Package controlplane is the cluster side of svcnet: it takes Services and
// Pods from a [Source] (a manifests directory, an orchestrator's store),
// allocates each Service's ClusterIPs, node ports, health-check node port
// and LoadBalancer addresses through allocator.Services (one call per
// Service), computes endpoint slices through package endpoints with
// minimal churn, and publishes the typed, versioned [resolved.State] to a
// [Sink] (a *resolved.Latest for node agents in the same process, etcd for
// many machines).
//
// Invariants:
//   - one bad Service never blocks the rest: a service that cannot be
//     allocated or resolved, asks for an external IP outside
//     Config.ExternalIPs, repeats another's name, or claims a frontend
//     (address, port, protocol) another service holds is left out and
//     reported (Health.Refused), and every other one is published; the
//     established service keeps what it held against a newcomer;
//   - a service that disappears for a moment keeps its addresses: it is
//     released to the allocator's grace period, not freed; so is, on the
//     first Resolve, every service restored from a snapshot that the
//     source no longer has;
//   - a service's Revision changes only when its resolved form does, so
//     node agents program only what changed;
//   - allocations are persisted (Config.Persist) after every change; a
//     failed persist is retried and reported in Health until it succeeds,
//     so an allocation that a restart could lose is never silent;
//   - Run starts no goroutine and returns when its context ends.
//
// Usage:
//
//	alloc, _ := allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: ranges})
//	cp, _ := controlplane.New(controlplane.Config{Allocator: alloc})
//	st, err := cp.Resolve(controlplane.Input{Services: svcs, Workloads: pods})
//	// or: cp.Run(ctx, source, &latest) and nodeagent's Run on the same latest
package controlplane
