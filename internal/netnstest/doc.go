// Package netnstest builds small throwaway networks out of Linux network
// namespaces for kernel tests: a "node" namespace that routes, "pod"
// namespaces joined to it by veth pairs, a "client" pod, and an "external"
// namespace that reaches the node over its own link, all dual-stack.
//
// Invariants:
//   - Nothing is created or changed in the namespace the test process runs in:
//     every link, address, route and sysctl lives in a namespace this package
//     made (forwarding is enabled inside the node namespace only).
//   - Everything a test makes is removed through t.Cleanup, also when the test
//     fails: servers are stopped and their goroutines waited for, file
//     descriptors closed, namespaces deleted.
//   - Namespaces are named "svcnet-<random>-<role>", so parallel test binaries
//     do not collide and a leak is easy to spot with `ip netns list`.
//   - Kernel tests call [Require] first: it skips when the process cannot make
//     namespaces, but fails when the CI environment variable is set.
//
// Usage:
//
//	netnstest.Require(t)
//	w := netnstest.NewWorld(t)
//	web := w.AddPod(t, "web-1")
//	web.Serve(t, 8080)
//	r, err := w.Client.NS.Ask(ctx, "tcp", netip.AddrPortFrom(web.IPv4, 8080))
//	// r.Backend == "web-1", r.Source is the client's address as web-1 saw it.
//
// Addressing: pod number i (1-based, in the order pods are added) has
// 10.244.i.2/24 and fd00:10:244:i::2/64, with the node side of its veth at .1
// and ::1 as default gateway; the external link is 192.168.100.0/24 and
// fd00:192:168:100::/64 with the node at .1/::1 and the external namespace at
// .2 and .3 / ::2 and ::3 (two addresses, so that tests can present an allowed
// and a disallowed client; the second is only used when bound). The node's
// default routes point at the external namespace, which does not forward:
// traffic to an address nobody translates is silently dropped, as upstream
// of a real node, so a test can tell a dataplane's reject (refused) from a
// black hole (timeout). Neighbour entries are static, so no first packet
// waits on ARP or NDP.
package netnstest
