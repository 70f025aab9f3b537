// Package node is the reference svcnet node — a small kube-proxy and
// cluster DNS for one node — as an importable package, so that other
// programs can embed the same loop that examples/proxy runs.
//
// A [Proxy] reads Kubernetes-style manifests (Service, Pod,
// EndpointSlice, Node; multi-document YAML) from a directory, allocates
// ClusterIPs, NodePorts and LoadBalancer addresses with package allocator
// (persisted in a [State] file so that a restart keeps every address),
// computes endpoints with package endpoints, programs the dataplane in the
// target network namespace through a [Programmer], and answers cluster DNS
// from a [Zone] over UDP and TCP with github.com/miekg/dns.
//
// Invariants:
//   - bad input never stops the node: an invalid document is reported as a
//     [*ManifestError] (file, document index, field, reason) and the last
//     good version of its file stays in effect; a service whose requested
//     address or port conflicts keeps its last good version (or does not
//     exist yet), and the other services are unaffected;
//   - of two services asking for one value, the one holding it keeps it;
//     otherwise the first in manifest order (file name, document) wins;
//   - the state file is replaced atomically after each successful sync.
//
// Usage:
//
//	cfg := node.Config{Manifests: "/etc/svcnet", NetNS: "node1", DNSListen: "10.0.0.10:53"}
//	prog, err := node.NewDataplane(cfg, log)
//	p, err := node.New(cfg, node.Options{Log: log, Programmer: prog})
//	err = p.Run(ctx) // sync, then follow the directory until ctx ends
//
// The command line (see [ParseFlags]) is the proxy's:
//
//	--manifests DIR        directory of YAML manifests (required)
//	--netns NAME|PATH      network namespace to program (default: current)
//	--node NAME            this node's name (Local traffic policies, NodePorts)
//	--service-cidr LIST    service CIDRs, comma-separated for dual stack (10.96.0.0/16)
//	--nodeport-range R     30000-32767
//	--cluster-cidr LIST    pod CIDRs, to tell on- from off-cluster traffic (10.244.0.0/16)
//	--zone NAME            DNS zone (cluster.local)
//	--dns-listen ADDR      DNS address, opened inside the namespace (127.0.0.1:1053)
//	--metrics-listen ADDR  /metrics and /healthz (127.0.0.1:10249; empty disables)
//	--loadbalancer-pool L  CIDRs or start-end ranges for LoadBalancer services
//	--state FILE           allocation state (DIR/.svcnet-state.json)
//	--dry-run              print the nftables ruleset and the DNS records, exit
//	--once                 sync once and exit (rules stay)
//	--cleanup              remove our rules from the namespace and exit
package node
