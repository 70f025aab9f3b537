// Package endpoints decides which workloads serve a service and packs them
// into endpoint slices the way the Kubernetes EndpointSlice controller does.
//
// [Desired] applies the Kubernetes rules: same namespace, selector match (a
// service without a selector gets no managed endpoints), terminal workloads
// and workloads without an IP left out, terminating ones kept; serving is
// readiness, terminating is deletion, ready is publishNotReadyAddresses or
// serving and not terminating. Named target ports resolve by name and
// protocol per workload; endpoints are grouped by IP family and exact port
// set.
//
// [Reconcile] turns desired groups and the slices that exist into a [Plan]
// with the controller's minimal-churn algorithm, then merges the emptiest
// slices of a group that scale-downs left with more slices than
// [Config.SliceOverheadPercent] allows (Kubernetes never merges: svcnet's
// one deliberate difference in slice shape). As Kubernetes 1.37 does, each
// IP family of the service without other slices keeps one empty
// placeholder, and a Service's reserved labels ([LabelServiceName],
// [LabelManagedBy], [LabelHeadless]) are not copied onto its slices. It
// rejects invalid input with the errors of errors.go ([ErrInvalidConfig],
// [ErrInvalidService], [ErrDuplicateSlice]). Invariants: the planned slices
// hold exactly the desired endpoints, none exceeds
// [Config.MaxEndpointsPerSlice], a group of n endpoints keeps at most
// m + max(1, m/10) slices where m = ceil(n/MaxEndpointsPerSlice) (by
// default), reconciling again after applying a plan yields an empty plan,
// and the same input always gives the same plan. A reconcile allocates in
// proportion to the slices it writes, plus a few words per existing slice.
//
// Topology: a service's [TrafficDistribution] gives each ready endpoint a
// hint for its own zone (and node with [PreferSameNode]); [AppendUsable] is
// the proxy side, picking endpoints for a node and zone with kube-proxy's
// fallback rules — the one place svcnet states "ready, else serving and
// terminating" and the hint rules. A [Tracker] turns slice updates and
// deletions into per-service-port deltas for a dataplane, and hands out a
// port's whole current list ([Tracker.AppendEndpoints],
// [Tracker.AppendUsableEndpoints], [Tracker.AppendPorts]) so a full update
// needs no shadow copy.
//
// Usage:
//
//	groups := endpoints.Desired(&svc, workloads)
//	plan, err := endpoints.Reconcile(endpoints.Config{}, &svc, groups, existing)
//	if errors.Is(err, endpoints.ErrDuplicateSlice) {
//		// the slice cache is stale: list the slices again
//	}
//	// write plan.Create, plan.Update, plan.Delete
package endpoints
