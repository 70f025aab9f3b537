// Package allocator hands out Service ClusterIPs, NodePorts and LoadBalancer addresses
// as Kubernetes and MetalLB do.
//
// [IPRange] and [PortRange] share one core over an offset space. Ranges up to 2^24
// values use a dense bitmap with a summary bit per full word, so next-free scans skip
// full regions in word steps; larger ranges (IPv6 up to a /64) use a sparse word map
// whose memory follows what is allocated. Dynamic allocation takes the upper band first
// and the static lower band (KEP-3070 for IPs, KEP-3668 for ports) only when the upper
// band is full; explicit Allocate may take any free value. [NewIPRange] follows
// Kubernetes' exclusions (IPv4 network and broadcast, IPv6 first address);
// [NewIPRangeFromTo] serves every address of a start–end range, with no static band.
//
// Snapshots are versioned, checksummed binary blobs; Restore is all-or-nothing and
// validates a blob before building anything from it, so a hostile blob costs no more
// than its own size: every Restore ([IPRange], [PortRange], [LBAllocator], [Services])
// allocates at most a small constant times len(blob) plus a fixed few kilobytes,
// whatever the blob claims or the ranges span. Dense ranges are refilled in place;
// a sparse range keeps a restored long run as one span of full words; pools are
// checked on a scratch state whose cost follows the blob. Repair reconciles an allocator with what objects hold and frees
// a leak only after three consecutive repairs. [Store] with [SharedIPRange] and
// [SharedPortRange] turn every change into read–modify–compare-and-swap, so replicas
// sharing a store never hand out one value twice; [MemStore] is an in-memory Store.
//
// [LBAllocator] assigns LoadBalancer addresses from MetalLB-style [Pool]s: CIDRs and
// start–end ranges ([ParseAddrRange]), auto-assign or manual pools, avoidance of .0
// and .255, requested addresses, and sharing: services share an address only with the
// same non-empty sharing key, the same backend key, and no common protocol and port.
//
// [Services] allocates for whole Kubernetes Services with one call per service:
// ClusterIPs per family by ipFamilyPolicy and ipFamilies, a node port per port for
// NodePort and LoadBalancer services (allocateLoadBalancerNodePorts honoured), a
// health-check node port for LoadBalancer services with externalTrafficPolicy Local,
// and LoadBalancer addresses from an [LBAllocator]. Requested values are honoured or
// refused with a precise error; updates follow Kubernetes' rules for changes of type
// and immutable fields; every call is transactional. [Services.Release] keeps a gone
// service's values for a grace period ([DefaultGracePeriod]) so that it comes back
// with the same ones; [Services.Expire] frees them later. [Services.Snapshot] keeps
// the per-service records, from which Restore rebuilds every allocator; Restore
// refuses a damaged state (a value out of range or claimed twice) rather than repair
// it, so a damaged state never yields a duplicate.
//
// Invariants: Used never exceeds Size; every value is handed out at most once until
// it is released (an LB address, to services that may share it); a failed call or
// Restore changes nothing. A sparse range holds at most 2^26 allocations at once.
// All exported allocators are safe for concurrent use.
//
//	r, _ := allocator.NewIPRange(netip.MustParsePrefix("10.96.0.0/12"), allocator.Config{})
//	ip, err := r.AllocateNext()
//
//	pool := allocator.Pool{Name: "default", Addresses: []allocator.AddrRange{allocator.MustParseAddrRange("192.0.2.10-192.0.2.20")}}
//	lb, _ := allocator.NewLBAllocator(pool)
//	vip, err := lb.Assign("default/web", allocator.LBRequest{SharingKey: "web", Ports: []allocator.PortProto{{Protocol: allocator.TCP, Port: 443}}})
package allocator
