package allocator_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/svcnet/svcnet/allocator"
)

func ExampleIPRange() {
	r, err := allocator.NewIPRange(netip.MustParsePrefix("10.96.0.0/27"), allocator.Config{Strategy: allocator.LowestFree})
	if err != nil {
		panic(err)
	}
	ip, _ := r.AllocateNext() // upper band first: the static band is the lowest 16 of 30
	fmt.Println(ip, r.Size(), r.Used())
	fmt.Println(r.Allocate(ip))
	// Output:
	// 10.96.0.17 30 1
	// allocator: value already allocated: 10.96.0.17
}

func ExamplePortRange() {
	r, _ := allocator.NewPortRange("30000-32767", allocator.Config{Rand: rand.NewPCG(1, 2)})
	_ = r.Allocate(30080) // explicit requests may take the static band
	fmt.Println(r.Size(), allocator.PortStaticBand(r.Size()), r.Has(30080))
	// Output: 2768 86 true
}

// ExampleLBAllocator shows MetalLB's pool rules: auto-assignment skips the manual
// pool and, with avoidBuggyIPs, the .0 address; two services with one sharing key and
// different ports share an address; a third with a clashing port does not get it.
func ExampleLBAllocator() {
	cheap, _ := allocator.ParseAddrRange("192.168.10.0/24")
	expensive, _ := allocator.ParseAddrRange("42.176.25.64-42.176.25.67")
	lb, err := allocator.NewLBAllocator(
		allocator.Pool{Name: "cheap", Addresses: []allocator.AddrRange{cheap}, AvoidBuggyIPs: true},
		allocator.Pool{Name: "expensive", Addresses: []allocator.AddrRange{expensive}, ManualAssign: true},
	)
	if err != nil {
		panic(err)
	}
	web, _ := lb.Assign("default/web", allocator.LBRequest{SharingKey: "web", Ports: []allocator.PortProto{{Protocol: allocator.TCP, Port: 80}}})
	tls, _ := lb.Assign("default/web-tls", allocator.LBRequest{SharingKey: "web", Ports: []allocator.PortProto{{Protocol: allocator.TCP, Port: 443}}})
	_, err = lb.Assign("default/other", allocator.LBRequest{Addr: web, SharingKey: "web", Ports: []allocator.PortProto{{Protocol: allocator.TCP, Port: 443}}})
	vip, _ := lb.Assign("default/vip", allocator.LBRequest{Pool: "expensive"})
	fmt.Println(web, tls, lb.Users(web))
	fmt.Println(errors.Is(err, allocator.ErrPortConflict))
	fmt.Println(vip)
	for _, s := range lb.Stats() {
		fmt.Printf("%s: %d of %d used\n", s.Name, s.Used, s.Size)
	}
	// Output:
	// 192.168.10.1 192.168.10.1 [default/web default/web-tls]
	// true
	// 42.176.25.64
	// cheap: 1 of 254 used
	// expensive: 1 of 4 used
}

// ExampleSharedPortRange shows two replicas sharing one store: neither hands out a
// port the other holds.
func ExampleSharedPortRange() {
	ctx := context.Background()
	var store allocator.MemStore // in production, a store over a replicated key-value system
	a, _ := allocator.NewSharedPortRange("30000-30001", &store, allocator.Config{})
	b, _ := allocator.NewSharedPortRange("30000-30001", &store, allocator.Config{})
	p1, _ := a.AllocateNext(ctx)
	p2, _ := b.AllocateNext(ctx)
	_, err := a.AllocateNext(ctx)
	fmt.Println(p1 != p2, errors.Is(err, allocator.ErrFull))
	// Output: true true
}

func ExampleNewIPRangeFromTo() {
	r, _ := allocator.NewIPRangeFromTo(netip.MustParseAddr("192.0.2.254"), netip.MustParseAddr("192.0.3.1"), allocator.Config{Strategy: allocator.LowestFree})
	for range 4 {
		ip, _ := r.AllocateNext()
		fmt.Print(ip, " ")
	}
	fmt.Println(r.Size())
	// Output: 192.0.2.254 192.0.2.255 192.0.3.0 192.0.3.1 4
}

// ExampleServices allocates for whole Services: a dual-stack NodePort service, an
// update that changes it to ClusterIP (node ports released, ClusterIPs kept), and a
// release within the grace period that gives the same values back.
func ExampleServices() {
	svcs, err := allocator.NewServices(allocator.ServicesConfig{
		ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16"), netip.MustParsePrefix("fd00:96::/108")},
		Range:           allocator.Config{Strategy: allocator.LowestFree},
	})
	if err != nil {
		panic(err)
	}
	req := allocator.ServiceRequest{
		Type:           allocator.NodePort,
		IPFamilyPolicy: allocator.PreferDualStack,
		Ports:          []allocator.ServicePort{{Name: "http", Port: 80}, {Name: "dns", Protocol: allocator.UDP, Port: 53, NodePort: 30053}},
	}
	a, _ := svcs.Allocate("default/web", req)
	fmt.Println(a.IPFamilies, a.ClusterIPs, a.NodePorts)

	req.Type = allocator.ClusterIP
	req.Ports[1].NodePort = 0
	a, _ = svcs.Allocate("default/web", req)
	fmt.Println(a.ClusterIPs, a.NodePorts)

	svcs.Release("default/web") // held for allocator.DefaultGracePeriod
	a, _ = svcs.Allocate("default/web", req)
	fmt.Println(a.ClusterIPs)

	_, err = svcs.Allocate("default/web", allocator.ServiceRequest{ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.9.9")}})
	fmt.Println(err)
	// Output:
	// [IPv4 IPv6] [10.96.1.1 fd00:96::101] [30086 30053]
	// [10.96.1.1 fd00:96::101] [0 0]
	// [10.96.1.1 fd00:96::101]
	// service "default/web": spec.clusterIPs[0]: allocator: field is immutable: the service holds 10.96.1.1
}
