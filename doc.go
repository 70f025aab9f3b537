// Package svcnet is a set of service-networking primitives: what a Kubernetes
// Service does, for people who write their own orchestrator, node agent,
// service mesh or load balancer and do not want to pull in Kubernetes.
//
// A Service gives a changing set of workloads one stable entry, a virtual IP
// and a DNS name, in front of the workloads its label selector picks. The
// control side decides who serves; the node side decides how packets get
// there. Each concern lives in its own package, usable alone:
//
//	selector ──► endpoints ──► (your consumer: proxy, DNS server, controller)
//	allocator          balancer ──► dataplane          dnsname
//
// The packages:
//
//   - [github.com/svcnet/svcnet/selector] parses, validates and matches
//     Kubernetes label selectors, and indexes many selectors so that one label
//     set finds the selectors that match it without a scan.
//   - [github.com/svcnet/svcnet/endpoints] turns a service and its workloads
//     into endpoints and endpoint slices with minimal churn, computes topology
//     hints, and tracks slice changes for consumers.
//   - [github.com/svcnet/svcnet/allocator] hands out ClusterIPs (IPv4 and
//     IPv6, up to a /64) and node ports, with the static/dynamic bands,
//     snapshots, repair, shared stores and LoadBalancer address pools.
//   - [github.com/svcnet/svcnet/balancer] picks a backend per request or
//     connection: round robin, weighted, random, least-request, ring hash,
//     Maglev and ClientIP affinity, lock-free.
//   - [github.com/svcnet/svcnet/dataplane] renders services into an nftables
//     ruleset and applies it to a network namespace over netlink, atomically
//     and incrementally.
//   - [github.com/svcnet/svcnet/dnsname] builds, validates and answers the
//     names of the Kubernetes DNS specification.
//   - [github.com/svcnet/svcnet/dnsserver] serves a dnsname catalog over UDP
//     and TCP with github.com/miekg/dns, forwards every other name to
//     upstream resolvers, and caps answers so that a query cannot amplify.
//
// Each package defines its own small input types; conversions live at the
// edge. The examples/proxy program composes all of them into a small
// kube-proxy and cluster DNS for one node, fed by Kubernetes-style YAML
// manifests, and examples/demo runs it in throw-away network namespaces.
package svcnet
