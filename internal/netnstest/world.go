package netnstest

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// maxPods bounds the third octet of the pod plan (10.244.i.0/24).
const maxPods = 250

// World is a node namespace with pods and an external namespace around it.
//
// The zero World is invalid; use [NewWorld]. AddPod may be called from
// several goroutines; the exported fields are set by NewWorld and must not
// be changed.
type World struct {
	// Node routes between pods and the external link (forwarding on); a
	// dataplane under test runs its rules here.
	Node *NS
	// NodeIPv4 and NodeIPv6 are the node's addresses on the external
	// link: where NodePorts are reached from outside.
	NodeIPv4, NodeIPv6 netip.Addr

	// PodCIDRv4 and PodCIDRv6 hold every pod address: the cluster CIDRs a
	// dataplane needs to tell pod traffic from external traffic.
	PodCIDRv4, PodCIDRv6 netip.Prefix
	// ExternalCIDRv4 and ExternalCIDRv6 are the node–external link.
	ExternalCIDRv4, ExternalCIDRv6 netip.Prefix

	// Client is a pod with no servers, the usual source of test traffic.
	Client *Pod

	// External is outside the cluster; its default routes go through the
	// node, and the node's through it. It does not forward.
	External *NS
	// ExternalIPv4 and ExternalIPv6 are External's addresses; the first of
	// each is the default source, the second may be chosen with AskFrom.
	ExternalIPv4, ExternalIPv6 [2]netip.Addr

	mu   sync.Mutex // protects pods
	pods []*Pod
}

// Pod is a namespace joined to the node by a veth pair, with one IPv4 and
// one IPv6 address and default routes through the node.
//
// The zero Pod is invalid; use [World.AddPod]. A Pod is safe for concurrent
// use.
type Pod struct {
	// Name is what the pod's servers answer with.
	Name string
	// NS is the pod's namespace.
	NS *NS
	// IPv4 and IPv6 are the pod's addresses (on its eth0).
	IPv4, IPv6 netip.Addr
	// HostVeth is the node side of the pod's veth pair.
	HostVeth string
	// GatewayIPv4 and GatewayIPv6 are the node's addresses on HostVeth: the
	// source a pod sees for masqueraded traffic that the node sends to it.
	GatewayIPv4, GatewayIPv6 netip.Addr

	mac  string // hardware address of eth0
	node *NS    // where HostVeth lives

	mu    sync.Mutex // protects extra
	extra int        // secondary IPv4 addresses added so far
}

// NewWorld builds a node, an external namespace and a client pod, all
// removed by t.Cleanup. It calls [Require] first.
func NewWorld(t testing.TB) *World {
	t.Helper()
	Require(t)
	w := &World{
		Node:           NewNS(t, "node"),
		External:       NewNS(t, "ext"),
		NodeIPv4:       netip.MustParseAddr("192.168.100.1"),
		NodeIPv6:       netip.MustParseAddr("fd00:192:168:100::1"),
		PodCIDRv4:      netip.MustParsePrefix("10.244.0.0/16"),
		PodCIDRv6:      netip.MustParsePrefix("fd00:10:244::/48"),
		ExternalCIDRv4: netip.MustParsePrefix("192.168.100.0/24"),
		ExternalCIDRv6: netip.MustParsePrefix("fd00:192:168:100::/64"),
		ExternalIPv4:   [2]netip.Addr{netip.MustParseAddr("192.168.100.2"), netip.MustParseAddr("192.168.100.3")},
		ExternalIPv6:   [2]netip.Addr{netip.MustParseAddr("fd00:192:168:100::2"), netip.MustParseAddr("fd00:192:168:100::3")},
	}
	w.Node.Sysctl(t, "net/ipv4/ip_forward", "1")
	w.Node.Sysctl(t, "net/ipv6/conf/all/forwarding", "1")

	w.Node.IP(t, "link", "add", "name", "ext0", "type", "veth", "peer", "name", "eth0", "netns", w.External.Name())
	w.Node.IP(t, "addr", "add", prefixOf(w.NodeIPv4, w.ExternalCIDRv4), "dev", "ext0")
	w.Node.IP(t, "addr", "add", prefixOf(w.NodeIPv6, w.ExternalCIDRv6), "dev", "ext0", "nodad")
	w.Node.IP(t, "link", "set", "ext0", "up")
	for _, a := range w.ExternalIPv4 {
		w.External.IP(t, "addr", "add", prefixOf(a, w.ExternalCIDRv4), "dev", "eth0")
	}
	w.External.IP(t, "addr", "add", prefixOf(w.ExternalIPv6[0], w.ExternalCIDRv6), "dev", "eth0", "nodad")
	// Deprecated (preferred lifetime 0), so that source selection never
	// picks it on its own, as IPv4 never picks a secondary address; it
	// still works when a socket binds it.
	w.External.IP(t, "addr", "add", prefixOf(w.ExternalIPv6[1], w.ExternalCIDRv6), "dev", "eth0", "nodad", "preferred_lft", "0")
	w.External.IP(t, "link", "set", "eth0", "up")
	w.External.IP(t, "-4", "route", "add", "default", "via", w.NodeIPv4.String(), "src", w.ExternalIPv4[0].String())
	w.External.IP(t, "-6", "route", "add", "default", "via", w.NodeIPv6.String(), "src", w.ExternalIPv6[0].String())
	// Like a real node, the node has an upstream default route (to the
	// external namespace, which does not forward and so drops what is not
	// its own). Without one, a packet to a service address that no rule
	// translates fails the node's routing before any filter hook sees it,
	// and a dataplane's reject could never be observed.
	w.Node.IP(t, "-4", "route", "add", "default", "via", w.ExternalIPv4[0].String())
	w.Node.IP(t, "-6", "route", "add", "default", "via", w.ExternalIPv6[0].String())
	w.Node.pinNeighbors(t, "ext0", w.External.mac(t, "eth0"), append(w.ExternalIPv4[:], w.ExternalIPv6[:]...)...)
	w.External.pinNeighbors(t, "eth0", w.Node.mac(t, "ext0"), w.NodeIPv4, w.NodeIPv6)

	w.Client = w.AddPod(t, "client")
	return w
}

// AddPod creates a pod namespace named after name, wires it to the node and
// returns it. Pod names must be unique within a World.
func (w *World) AddPod(t testing.TB, name string) *Pod {
	t.Helper()
	w.mu.Lock()
	i := len(w.pods) + 1
	if i > maxPods {
		w.mu.Unlock()
		t.Fatalf("netnstest: at most %d pods per world", maxPods)
	}
	for _, p := range w.pods {
		if p.Name == name {
			w.mu.Unlock()
			t.Fatalf("netnstest: pod %q added twice", name)
		}
	}
	p := &Pod{
		Name:        name,
		HostVeth:    fmt.Sprintf("pod%d", i),
		IPv4:        netip.AddrFrom4([4]byte{10, 244, byte(i), 2}),
		GatewayIPv4: netip.AddrFrom4([4]byte{10, 244, byte(i), 1}),
		IPv6:        netip.AddrFrom16([16]byte{0xfd, 0, 0, 0x10, 0x2, 0x44, 0, byte(i), 15: 2}),
		GatewayIPv6: netip.AddrFrom16([16]byte{0xfd, 0, 0, 0x10, 0x2, 0x44, 0, byte(i), 15: 1}),
	}
	w.pods = append(w.pods, p)
	w.mu.Unlock()

	p.NS = NewNS(t, fmt.Sprintf("pod%d", i))
	w.Node.IP(t, "link", "add", "name", p.HostVeth, "type", "veth", "peer", "name", "eth0", "netns", p.NS.Name())
	w.Node.IP(t, "addr", "add", p.GatewayIPv4.String()+"/24", "dev", p.HostVeth)
	w.Node.IP(t, "addr", "add", p.GatewayIPv6.String()+"/64", "dev", p.HostVeth, "nodad")
	w.Node.IP(t, "link", "set", p.HostVeth, "up")
	p.NS.IP(t, "addr", "add", p.IPv4.String()+"/24", "dev", "eth0")
	p.NS.IP(t, "addr", "add", p.IPv6.String()+"/64", "dev", "eth0", "nodad")
	p.NS.IP(t, "link", "set", "eth0", "up")
	p.NS.IP(t, "-4", "route", "add", "default", "via", p.GatewayIPv4.String())
	p.NS.IP(t, "-6", "route", "add", "default", "via", p.GatewayIPv6.String())
	p.mac = p.NS.mac(t, "eth0")
	w.Node.pinNeighbors(t, p.HostVeth, p.mac, p.IPv4, p.IPv6)
	p.NS.pinNeighbors(t, "eth0", w.Node.mac(t, p.HostVeth), p.GatewayIPv4, p.GatewayIPv6)
	p.node = w.Node
	return p
}

// AddIPv4 gives the pod one more IPv4 address in its /24 (10.244.i.3 and
// up) and returns it; use it with [NS.AskFrom] to present several clients
// from one pod.
func (p *Pod) AddIPv4(t testing.TB) netip.Addr {
	t.Helper()
	p.mu.Lock()
	p.extra++
	n := p.extra
	p.mu.Unlock()
	if n > 250 {
		t.Fatalf("netnstest: pod %s: out of secondary addresses", p.Name)
	}
	b := p.IPv4.As4()
	b[3] = byte(2 + n)
	a := netip.AddrFrom4(b)
	p.NS.IP(t, "addr", "add", a.String()+"/24", "dev", "eth0")
	p.node.pinNeighbors(t, p.HostVeth, p.mac, a)
	return a
}

// mac returns the hardware address of dev.
func (n *NS) mac(t testing.TB, dev string) string {
	t.Helper()
	// "eth0@if2  UP  ca:6a:01:3e:d5:86 <BROADCAST,...>"
	f := strings.Fields(n.IP(t, "-br", "link", "show", "dev", dev))
	if len(f) < 3 {
		t.Fatalf("netnstest: no hardware address for %s in %s: %q", dev, n.name, f)
	}
	return f[2]
}

// pinNeighbors makes the ARP/NDP entries for addrs on dev permanent. A
// first packet that has to wait for neighbour resolution is sometimes
// lost (an IPv6 SYN then costs a one-second retransmission), which would
// turn timing-sensitive assertions into flakes; the world's topology is
// static, so nothing needs to be resolved.
func (n *NS) pinNeighbors(t testing.TB, dev, mac string, addrs ...netip.Addr) {
	t.Helper()
	for _, a := range addrs {
		n.IP(t, "neigh", "replace", a.String(), "lladdr", mac, "dev", dev, "nud", "permanent")
	}
}

// Pods returns the pods added so far, the client first.
func (w *World) Pods() []*Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*Pod(nil), w.pods...)
}

// Addr returns the pod's address of the same family as like.
func (p *Pod) Addr(like netip.Addr) netip.Addr {
	if like.Is4() {
		return p.IPv4
	}
	return p.IPv6
}

func prefixOf(a netip.Addr, p netip.Prefix) string {
	return netip.PrefixFrom(a, p.Bits()).String()
}
