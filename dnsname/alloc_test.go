package dnsname

import (
	"net/netip"
	"testing"
)

// Package-level sinks keep the compiler from optimising the calls away.
var (
	sinkErr    error
	sinkName   Name
	sinkAddr   netip.Addr
	sinkAnswer Answer
	sinkResult Result
	sinkBytes  []byte
)

func TestNoAllocs(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	mustSet(t, c, Service{Namespace: "prod", Name: "api", ClusterIPs: addrs("10.96.0.10"), Ports: []Port{{Name: "http", Port: 80}}})
	mustSet(t, c, Service{Namespace: "prod", Name: "db", Type: Headless, Ports: []Port{{Name: "pg", Port: 5432}},
		Endpoints: []Endpoint{{Addrs: addrs("10.1.0.1"), Hostname: "db-0", Ready: true}}})
	buf := make([]byte, 0, 128)
	tests := []struct {
		name string
		fn   func()
	}{
		{"IsDNS1035Label", func() { sinkErr = IsDNS1035Label("my-service") }},
		{"IsDNS1123Label", func() { sinkErr = IsDNS1123Label("kube-system") }},
		{"IsDNS1123Subdomain", func() { sinkErr = IsDNS1123Subdomain("db.example.com") }},
		{"IsPortName", func() { sinkErr = IsPortName("http-alt") }},
		{"Parse service", func() { sinkName = Parse("api.prod.svc.cluster.local.", "cluster.local") }},
		{"Parse SRV", func() { sinkName = Parse("_http._tcp.api.prod.svc.cluster.local.", "cluster.local") }},
		{"Parse endpoint", func() { sinkName = Parse("db-0.db.prod.svc.cluster.local.", "cluster.local") }},
		{"Parse pod v6", func() { sinkName = Parse("fd00--1.default.pod.cluster.local.", "cluster.local") }},
		{"Parse reverse", func() { sinkName = Parse("2.0.3.10.in-addr.arpa.", "cluster.local") }},
		{"ParseReverse v6", func() {
			sinkAddr, sinkErr = ParseReverse("b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.")
		}},
		{"ParseDashedAddr", func() { sinkAddr, sinkErr = ParseDashedAddr("10-3-0-2") }},
		{"AppendReverseName", func() { sinkBytes = AppendReverseName(buf[:0], mp("fd00::1")) }},
		{"AppendDashedAddr", func() { sinkBytes = AppendDashedAddr(buf[:0], mp("10.3.0.2")) }},
		{"Lookup A", func() { sinkAnswer, sinkResult = c.Lookup("api.prod.svc.cluster.local.", TypeA) }},
		{"Lookup upper case", func() { sinkAnswer, sinkResult = c.Lookup("API.prod.svc.cluster.local", TypeA) }},
		{"Lookup SRV", func() { sinkAnswer, sinkResult = c.Lookup("_pg._tcp.db.prod.svc.cluster.local.", TypeSRV) }},
		{"Lookup PTR", func() { sinkAnswer, sinkResult = c.Lookup("1.0.1.10.in-addr.arpa.", TypePTR) }},
		{"Lookup NXDOMAIN", func() { sinkAnswer, sinkResult = c.Lookup("nope.prod.svc.cluster.local.", TypeA) }},
		{"Lookup NODATA", func() { sinkAnswer, sinkResult = c.Lookup("api.prod.svc.cluster.local.", TypeTXT) }},
		{"Lookup not ours", func() { sinkAnswer, sinkResult = c.Lookup("example.com.", TypeA) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tt.fn); n != 0 {
				t.Errorf("%s allocates %v times per run; want 0", tt.name, n)
			}
		})
	}
}
