// Package allocator hands out Service ClusterIPs and NodePorts as Kubernetes does.
//
// IPRange and PortRange share one core over an offset space: a dense bitmap with a
// summary bit per full word, so next-free scans skip full regions in word steps.
// Dynamic allocation takes the upper band first and the static lower band
// (KEP-3070 for IPs, KEP-3668 for ports) only when the upper band is full;
// explicit Allocate may take any free value.
//
// Invariants: Used never exceeds Size; every value is handed out at most once until
// it is released. All exported allocators are safe for concurrent use.
//
//	r, _ := allocator.NewIPRange(netip.MustParsePrefix("10.96.0.0/12"), allocator.Config{})
//	ip, err := r.AllocateNext()
package allocator
