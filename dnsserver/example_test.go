package dnsserver_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/dnsserver"
)

// A cluster DNS server on loopback: feed the catalog, mark it ready, ask.
func Example() {
	cat := dnsname.NewCatalog(dnsname.CatalogOptions{})
	srv, err := dnsserver.New(cat, dnsserver.Config{NoForward: true})
	if err != nil {
		panic(err)
	}
	pc, l, err := dnsserver.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, pc, l) }()

	err = cat.Replace([]dnsname.Service{{
		Namespace: "default", Name: "api",
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports:      []dnsname.Port{{Name: "http", Port: 80}},
	}})
	if err != nil {
		panic(err)
	}
	srv.SetReady()

	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"api.default.svc.cluster.local.", dns.TypeA},
		{"_http._tcp.api.default.svc.cluster.local.", dns.TypeSRV},
		{"web.default.svc.cluster.local.", dns.TypeA},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		r, err := dns.Exchange(m, pc.LocalAddr().String())
		if err != nil {
			panic(err)
		}
		fmt.Println(dns.RcodeToString[r.Rcode])
		for _, rr := range r.Answer {
			fmt.Println(rr)
		}
	}
	cancel()
	fmt.Println("Serve:", <-done)
	// Output:
	// NOERROR
	// api.default.svc.cluster.local.	5	IN	A	10.96.0.10
	// NOERROR
	// _http._tcp.api.default.svc.cluster.local.	5	IN	SRV	0 100 80 api.default.svc.cluster.local.
	// NXDOMAIN
	// Serve: <nil>
}
