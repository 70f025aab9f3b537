// Package dataplane turns the services a node must serve into an nftables
// ruleset and keeps the kernel in step with it, atomically, over netlink
// (github.com/google/nftables; no nft binary at run time), in the network
// namespace the caller names.
//
// The layout follows kube-proxy's nftables mode in behaviour but keeps the
// rule count independent of the number of services: per-service state lives
// in map elements. One "inet" table (default name "svcnet") holds, per
// address family:
//
//   - service-ips4/6: "address . protocol . port" → verdict, for ClusterIPs,
//     external IPs and LoadBalancer IPs; service-nodeports4/6:
//     "protocol . port" → verdict, for local addresses (never 127.0.0.0/8
//     or ::1), or for Options.NodeAddresses when given;
//   - endpoints maps "frontend . slot" → "address . port", read by one pick
//     chain per distinct endpoint count N with
//     "numgen random mod N"; weighted balancing gives endpoints slots in
//     proportion to their weights;
//   - policy chains per N: masquerade marking (0x4000) for off-cluster
//     traffic to ClusterIPs and external traffic under Cluster policy,
//     node-local endpoints only under Local policies (drop when none);
//   - reject (TCP reset, ICMP port unreachable) for services without a
//     usable endpoint and for ClusterIP ports no service serves;
//   - LoadBalancer source ranges in a filter chain at priority -110;
//   - hairpin masquerading in postrouting for a backend that reached itself.
//
// Maglev balancing ([Maglev]) picks through the same endpoints maps with
// "jhash ip saddr mod M seed S" instead of numgen, the slots filled from
// balancer.MaglevTable, so that every node sends a client to the same
// endpoint; it costs M elements per frontend ([DefaultMaglevSize]).
//
// ClientIP affinity services are the exception: like kube-proxy they get
// their own chains and one timeout set (with an explicit size) per endpoint.
//
// The dataplane programs exactly the endpoints it is given. Which endpoints
// are usable — ready, else serving and terminating; topology hints; the
// node's own under a Local policy — is decided once, by the caller, for
// every consumer alike: a node agent passes endpoints.AppendUsable's result
// as [ServicePort.Endpoints] (Cluster policy) and
// [ServicePort.LocalEndpoints] (Local policy).
//
// Invariants: every Sync commits in one netlink batch or not at all; after
// a successful Sync the kernel table equals [Render] of the same input
// (tests read it back over netlink); incremental syncs look only at service
// ports that changed and never list the table; after any error the next
// Sync replaces the whole table, and the first Sync of a new process adopts
// what an earlier one left. One bad service port never blocks the others:
// what [Validate] refuses (an unspecified address, a frontend another
// service port holds, an endpoint without a port, no frontend at all) and
// whatever the kernel still refuses is left out and named in a
// [*SyncError], and everything else is programmed. [Dataplane.Update]
// changes only the service ports it names, for callers that learn of
// changes one service at a time; its cost follows the change, not the
// number of services. Sync and Update return [Stats] of what they sent.
// [Dataplane.Watch], run by the caller, notices when anyone else changes
// our table (deleted, a chain flushed, elements removed, a rule added) and
// repairs it at once with a full replace; other tables are never touched.
// After an incremental sync that removed UDP endpoints, their conntrack
// entries are deleted, as kube-proxy does. [Dataplane.Cleanup] deletes our
// table and nothing else.
//
// Usage:
//
//	dp, err := dataplane.New(dataplane.Options{
//		NetNS:        "/run/netns/node",
//		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
//	})
//	if err != nil { ... }
//	defer dp.Close()
//	stats, err := dp.Sync(ctx, []dataplane.ServicePort{{
//		Namespace: "default", Name: "web", Protocol: dataplane.TCP, Port: 80,
//		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
//		Endpoints:  []dataplane.Endpoint{{Addr: netip.MustParseAddrPort("10.244.1.2:8080")}},
//	}})
//
// Use [NewFake] in unit tests of code that drives a dataplane, and [Render]
// to see the rules a set of services produces.
package dataplane
