// Package proxy is the reference proxy as a package: the library's parts
// composed into one node that reads a directory of Kubernetes manifests.
//
//	manifests.Loader (watch) ─► controlplane.Run ─► *resolved.Latest ─► nodeagent.Run ─► dataplane (kernel, Config.NetNS)
//	  allocations restored from and persisted to the state file            └─► dnsname.Catalog ─► dnsserver (inside Config.NetNS)
//
// With Config.Delivery set, no control plane runs here: the node agent
// takes resolved state from that delivery (etcd, say) and the rest is the
// same. Metrics and /healthz (Proxy.Handler) combine the control plane's
// and the node agent's health with the manifests' and the DNS server's:
// unhealthy, with every reason, while syncs fail, the manifests cannot be
// read or the allocations cannot be persisted, and healthy again when they
// recover.
//
// The state file (JSON, version 2) holds one allocator.Services snapshot
// and is replaced atomically after every change. A version 1 file, written
// by the proxy before this package existed, is migrated at start: each
// service keeps the ClusterIPs, node ports and LoadBalancer address it had.
//
// Usage:
//
//	p, err := proxy.New(proxy.Config{Manifests: manifests.Config{Dir: dir}, NetNS: "node1", DNSListen: "10.96.0.10:53"})
//	...
//	err = p.Run(ctx) // until ctx ends; every goroutine it started has ended when it returns
//
// DryRun, Once and Cleanup are the one-shot modes of the proxy's command line.
package proxy
