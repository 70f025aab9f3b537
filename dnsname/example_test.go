package dnsname_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/dnsname"
)

func ExampleCatalog() {
	c := dnsname.NewCatalog(dnsname.CatalogOptions{}) // cluster.local, 5 s TTL
	err := c.SetService(dnsname.Service{
		Namespace:  "default",
		Name:       "api",
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports:      []dnsname.Port{{Name: "http", Port: 80}},
	})
	if err != nil {
		panic(err)
	}
	for _, q := range []struct {
		name  string
		qtype dnsname.Type
	}{
		{"api.default.svc.cluster.local.", dnsname.TypeA},
		{"_http._tcp.api.default.svc.cluster.local.", dnsname.TypeSRV},
		{"10.0.96.10.in-addr.arpa.", dnsname.TypePTR},
		{"api.default.svc.cluster.local.", dnsname.TypeAAAA},
		{"web.default.svc.cluster.local.", dnsname.TypeA},
		{"example.com.", dnsname.TypeA},
	} {
		ans, res := c.Lookup(q.name, q.qtype)
		fmt.Println(q.name, q.qtype, res)
		for _, r := range ans.Records {
			fmt.Println("  ", r)
		}
	}
	// Output:
	// api.default.svc.cluster.local. A Success
	//    api.default.svc.cluster.local.	5	IN	A	10.96.0.10
	// _http._tcp.api.default.svc.cluster.local. SRV Success
	//    _http._tcp.api.default.svc.cluster.local.	5	IN	SRV	0 100 80 api.default.svc.cluster.local.
	// 10.0.96.10.in-addr.arpa. PTR Success
	//    10.0.96.10.in-addr.arpa.	5	IN	PTR	api.default.svc.cluster.local.
	// api.default.svc.cluster.local. AAAA NoData
	// web.default.svc.cluster.local. A NXDomain
	// example.com. A NotOurs
}

func ExampleCatalog_headless() {
	c := dnsname.NewCatalog(dnsname.CatalogOptions{})
	_ = c.SetService(dnsname.Service{
		Namespace: "default",
		Name:      "db",
		Type:      dnsname.Headless,
		Ports:     []dnsname.Port{{Name: "pg", Port: 5432}},
		Endpoints: []dnsname.Endpoint{
			{Addrs: []netip.Addr{netip.MustParseAddr("10.1.0.1")}, Hostname: "db-0", Ready: true},
			{Addrs: []netip.Addr{netip.MustParseAddr("10.1.0.2")}, Ready: true},
			{Addrs: []netip.Addr{netip.MustParseAddr("10.1.0.3")}, Hostname: "db-2"}, // not ready
		},
	})
	ans, _ := c.Lookup("_pg._tcp.db.default.svc.cluster.local.", dnsname.TypeSRV)
	for _, r := range ans.Records {
		fmt.Println(r.Priority, r.Weight, r.Port, r.Target)
	}
	_, res := c.Lookup("db-2.db.default.svc.cluster.local.", dnsname.TypeA)
	fmt.Println("db-2:", res)
	// Output:
	// 0 50 5432 db-0.db.default.svc.cluster.local.
	// 0 50 5432 10-1-0-2.db.default.svc.cluster.local.
	// db-2: NXDomain
}

// Endpoints from two EndpointSlices that map the port "http" to
// different target ports: each SRV record carries its endpoint's port, and
// an endpoint without "metrics" gets no SRV record for it.
func ExampleEndpointPort() {
	c := dnsname.NewCatalog(dnsname.CatalogOptions{})
	_ = c.SetService(dnsname.Service{
		Namespace: "default",
		Name:      "web",
		Type:      dnsname.Headless,
		Ports:     []dnsname.Port{{Name: "http", Port: 80}, {Name: "metrics", Port: 9100}},
		Endpoints: []dnsname.Endpoint{
			{Addrs: []netip.Addr{netip.MustParseAddr("10.1.0.1")}, Hostname: "web-0", Ready: true,
				Ports: []dnsname.EndpointPort{{Name: "http", Port: 8080}, {Name: "metrics", Port: 9100}}},
			{Addrs: []netip.Addr{netip.MustParseAddr("10.1.0.2")}, Hostname: "web-1", Ready: true,
				Ports: []dnsname.EndpointPort{{Name: "http", Port: 8081}}},
		},
	})
	for _, q := range []string{"_http._tcp.web.default.svc.cluster.local.", "_metrics._tcp.web.default.svc.cluster.local."} {
		ans, _ := c.Lookup(q, dnsname.TypeSRV)
		for _, r := range ans.Records {
			fmt.Println(r.Name, r.Weight, r.Port, r.Target)
		}
	}
	// Output:
	// _http._tcp.web.default.svc.cluster.local. 50 8080 web-0.web.default.svc.cluster.local.
	// _http._tcp.web.default.svc.cluster.local. 50 8081 web-1.web.default.svc.cluster.local.
	// _metrics._tcp.web.default.svc.cluster.local. 100 9100 web-0.web.default.svc.cluster.local.
}

// A caller rendering many services reuses one slice.
func ExampleAppendRecordSet() {
	services := []dnsname.Service{
		{Namespace: "default", Name: "api", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}},
		{Namespace: "default", Name: "ext", Type: dnsname.ExternalName, ExternalName: "db.example.com"},
	}
	var rs []dnsname.Record
	for _, s := range services {
		var err error
		if rs, err = dnsname.AppendRecordSet(rs[:0], s, dnsname.CatalogOptions{}); err != nil {
			panic(err)
		}
		for _, r := range rs {
			fmt.Println(r)
		}
	}
	// Output:
	// api.default.svc.cluster.local.	5	IN	A	10.96.0.10
	// 10.0.96.10.in-addr.arpa.	5	IN	PTR	api.default.svc.cluster.local.
	// ext.default.svc.cluster.local.	5	IN	CNAME	db.example.com.
}

func ExampleParse() {
	n := dnsname.Parse("_HTTP._tcp.api.Default.svc.cluster.local.", "cluster.local")
	fmt.Println(n.Kind, n.Port, n.Proto, n.Service, n.Namespace)
	p := dnsname.Parse("fd00--1.default.pod.cluster.local", "")
	fmt.Println(p.Kind, p.Addr, p.Namespace)
	// Output:
	// SRV http TCP api default
	// Pod fd00::1 default
}

func ExampleIsDNS1035Label() {
	fmt.Println(dnsname.IsDNS1035Label("my-service"))
	err := dnsname.IsDNS1035Label("1st-service")
	fmt.Println(err)
	fmt.Println(errors.Is(err, dnsname.ErrInvalidLabel))
	// Output:
	// <nil>
	// invalid RFC 1035 label "1st-service": must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character
	// true
}

func ExampleIsPortName() {
	fmt.Println(dnsname.IsPortName("http-alt"))
	fmt.Println(dnsname.IsPortName("8080"))
	// Output:
	// <nil>
	// invalid IANA port name "8080": must contain at least one letter (a-z)
}

func ExampleReverseName() {
	fmt.Println(dnsname.ReverseName(netip.MustParseAddr("10.96.0.10")))
	a, _ := dnsname.ParseReverse("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.")
	fmt.Println(a)
	// Output:
	// 10.0.96.10.in-addr.arpa.
	// fd00::1
}

func ExampleDashedAddr() {
	fmt.Println(dnsname.DashedAddr(netip.MustParseAddr("10.3.0.2")))
	fmt.Println(dnsname.DashedAddr(netip.MustParseAddr("2001:db8::1")))
	fmt.Println(dnsname.PodFQDN(netip.MustParseAddr("10.3.0.2"), "default", ""))
	// Output:
	// 10-3-0-2
	// 2001-db8--1
	// 10-3-0-2.default.pod.cluster.local.
}

func ExampleServiceFQDN() {
	fmt.Println(dnsname.ServiceFQDN("api", "prod", "cluster.local"))
	fmt.Println(dnsname.SRVName("http", dnsname.TCP, "api", "prod", "cluster.local"))
	fmt.Println(dnsname.VersionName("cluster.local"))
	// Output:
	// api.prod.svc.cluster.local.
	// _http._tcp.api.prod.svc.cluster.local.
	// dns-version.cluster.local.
}

// A pod in "default" with the Kubernetes defaults pays four queries for an
// external name; a trailing dot, or ndots:2, makes the first one hit.
func ExampleExpand() {
	search := dnsname.PodSearch("default", "cluster.local")
	for _, q := range dnsname.Expand("api.example.com", search, dnsname.DefaultNdots) {
		fmt.Println(q)
	}
	fmt.Println(dnsname.Expand("api.example.com.", search, dnsname.DefaultNdots))
	fmt.Println(dnsname.Expand("api.example.com", search, 2)[0])
	// Output:
	// api.example.com.default.svc.cluster.local.
	// api.example.com.svc.cluster.local.
	// api.example.com.cluster.local.
	// api.example.com.
	// [api.example.com.]
	// api.example.com.
}
