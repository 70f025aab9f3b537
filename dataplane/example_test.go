package dataplane_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/svcnet/svcnet/dataplane"
)

func ExampleRender() {
	text, err := dataplane.Render(dataplane.Options{}, []dataplane.ServicePort{{
		Namespace: "default", Name: "web", PortName: "http", Protocol: dataplane.TCP, Port: 80,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Endpoints: []dataplane.Endpoint{
			{Addr: netip.MustParseAddrPort("10.244.1.2:8080")},
			{Addr: netip.MustParseAddrPort("10.244.2.2:8080")},
		},
	}})
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "10.96.0.10 . tcp . 80") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// 10.96.0.10 . tcp . 80 . 0x00000000 : 10.244.1.2 . 8080,
	// 10.96.0.10 . tcp . 80 . 0x00000001 : 10.244.2.2 . 8080
	// 10.96.0.10 . tcp . 80 : goto cluster-ip4-2
}

func ExampleFake() {
	f := dataplane.NewFake(dataplane.Options{})
	_, err := f.Sync(context.Background(), []dataplane.ServicePort{{
		Namespace: "default", Name: "empty", Protocol: dataplane.UDP, Port: 53,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.53")},
	}})
	fmt.Println(err, strings.Contains(f.Dump(), "10.96.0.53 . udp . 53 : goto reject-chain"))
	// Output: <nil> true
}

// ExampleFake_Update changes one service port of several without listing
// the others; Update needs a Sync first.
func ExampleFake_Update() {
	ctx := context.Background()
	f := dataplane.NewFake(dataplane.Options{})
	web := dataplane.ServicePort{Namespace: "default", Name: "web", Protocol: dataplane.TCP, Port: 80,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}}
	dns := dataplane.ServicePort{Namespace: "kube-system", Name: "dns", Protocol: dataplane.UDP, Port: 53,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.53")}}
	_, err := f.Update(ctx, []dataplane.ServicePort{web}, nil)
	fmt.Println(err)
	_, err = f.Sync(ctx, []dataplane.ServicePort{web, dns})
	fmt.Println(err)
	web.Endpoints = []dataplane.Endpoint{{Addr: netip.MustParseAddrPort("10.244.1.2:8080")}}
	stats, err := f.Update(ctx, []dataplane.ServicePort{web}, []dataplane.Key{dns.Key()})
	fmt.Println(err, stats.Full, stats.ElementsAdded, stats.ElementsRemoved)
	fmt.Println(strings.Contains(f.Dump(), "10.96.0.53"), strings.Contains(f.Dump(), "10.244.1.2 . 8080"))
	// Output:
	// a full Sync is needed first
	// <nil>
	// <nil> false 3 3
	// false true
}

// ExampleValidate shows a bad service port among good ones: Validate names
// it, and Sync would leave out only that one.
func ExampleValidate() {
	good := dataplane.ServicePort{Namespace: "default", Name: "web", Protocol: dataplane.TCP, Port: 80,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}}
	bad := good
	bad.Name, bad.ClusterIPs = "bad", nil
	bad.ExternalIPs = []netip.Addr{netip.IPv4Unspecified()}
	err := dataplane.Validate(dataplane.Options{}, []dataplane.ServicePort{good, bad})
	var se *dataplane.SyncError
	if errors.As(err, &se) {
		for _, r := range se.Refused {
			fmt.Println(r.Key.Name, errors.Is(r.Err, dataplane.ErrInvalid))
		}
	}
	// Output: bad true
}
