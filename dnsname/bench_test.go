package dnsname

import (
	"fmt"
	"net/netip"
	"regexp"
	"testing"
)

// The Kubernetes regexp, for comparison with the hand-written validators.
var dns1123LabelRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

var sinkBool bool

func BenchmarkValidate(b *testing.B) {
	b.Run("IsDNS1123Label", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sinkErr = IsDNS1123Label("kube-system-1")
		}
	})
	b.Run("Regexp1123Label", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sinkBool = dns1123LabelRe.MatchString("kube-system-1")
		}
	})
	b.Run("IsDNS1123Subdomain", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sinkErr = IsDNS1123Subdomain("db.prod.example.com")
		}
	})
	b.Run("IsPortName", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sinkErr = IsPortName("http-alt")
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, q := range []string{
		"api.prod.svc.cluster.local.",
		"_http._tcp.api.prod.svc.cluster.local.",
		"fd00--1.default.pod.cluster.local.",
	} {
		b.Run(q, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				sinkName = Parse(q, "cluster.local")
			}
		})
	}
}

func BenchmarkParseReverse(b *testing.B) {
	for _, a := range []netip.Addr{mp("10.3.0.2"), mp("2001:db8::567:89ab")} {
		name := ReverseName(a)
		kind := "v4"
		if a.Is6() {
			kind = "v6"
		}
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				sinkAddr, sinkErr = ParseReverse(name)
			}
		})
	}
}

func BenchmarkReverseName(b *testing.B) {
	buf := make([]byte, 0, 80)
	for _, a := range []netip.Addr{mp("10.3.0.2"), mp("2001:db8::567:89ab")} {
		b.Run(a.String(), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				sinkBytes = AppendReverseName(buf[:0], a)
			}
		})
	}
}

// loadCatalog fills a catalog with n headless services holding 100,000
// endpoints between them, and returns service names to query.
func loadCatalog(tb testing.TB, n int) (*Catalog, []string) {
	c := NewCatalog(CatalogOptions{})
	per := max(1, 100_000/n)
	ip := uint32(10 << 24)
	for i := range n {
		s := Service{Namespace: fmt.Sprintf("ns%d", i%50), Name: fmt.Sprintf("svc%d", i), Type: Headless,
			Ports: []Port{{Name: "http", Port: 80}}, Endpoints: make([]Endpoint, per)}
		for j := range s.Endpoints {
			ip++
			s.Endpoints[j] = Endpoint{Addrs: []netip.Addr{netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)})}, Ready: true}
		}
		if err := c.SetService(s); err != nil {
			tb.Fatal(err)
		}
	}
	// Spread the queried names over the whole catalog.
	names := make([]string, 1024)
	for k := range names {
		i := (k * 7919) % n
		names[k] = ServiceFQDN(fmt.Sprintf("svc%d", i), fmt.Sprintf("ns%d", i%50), "")
	}
	return c, names
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{100, 10_000, 100_000} {
		// Load once: the testing package calls the sub-benchmark several
		// times while it sizes b.N.
		var (
			c     *Catalog
			names []string
		)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			if c == nil {
				c, names = loadCatalog(b, n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				sinkAnswer, sinkResult = c.Lookup(names[i&1023], TypeA)
			}
			if sinkResult != Success {
				b.Fatalf("Lookup = %v; want Success", sinkResult)
			}
		})
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	c, names := loadCatalog(b, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Lookup(names[i&1023], TypeA)
			i++
		}
	})
}

func headlessService(endpoints int) Service {
	s := Service{Namespace: "prod", Name: "big", Type: Headless,
		Ports: []Port{{Name: "http", Port: 80}, {Name: "grpc", Port: 9090}}, Endpoints: make([]Endpoint, endpoints)}
	for j := range s.Endpoints {
		s.Endpoints[j] = Endpoint{Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 8, byte(j >> 8), byte(j)})}, Ready: true}
		if j%2 == 0 {
			s.Endpoints[j].Hostname = fmt.Sprintf("big-%d", j)
		}
	}
	return s
}

func BenchmarkRecordSet1000(b *testing.B) {
	s := headlessService(1000)
	b.ReportAllocs()
	for range b.N {
		if _, err := RecordSet(s, CatalogOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendRecordSet1000 is RecordSet into a reused slice: the cost
// of building the records, without allocating 7,000 of them afresh.
func BenchmarkAppendRecordSet1000(b *testing.B) {
	s := headlessService(1000)
	var rs []Record
	b.ReportAllocs()
	for range b.N {
		var err error
		if rs, err = AppendRecordSet(rs[:0], s, CatalogOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordSliceFloor is the anchor of BenchmarkRecordSet1000: it
// allocates and fills as many Records as that record set has (7,000),
// without any DNS logic, and drops them as that benchmark does. RecordSet
// cannot be faster than this.
func BenchmarkRecordSliceFloor(b *testing.B) {
	rs, err := RecordSet(headlessService(1000), CatalogOptions{})
	if err != nil {
		b.Fatal(err)
	}
	n, name, target, addr := len(rs), rs[0].Name, rs[len(rs)-1].Target, rs[0].Addr
	rs = nil
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		out := make([]Record, 0, n)
		for i := range n {
			out = append(out, Record{Name: name, Type: TypeSRV, TTL: 5, Addr: addr, Target: target, Port: uint16(i)})
		}
		sinkInt = len(out)
	}
}

var sinkInt int

// BenchmarkSetService1000 sets a 1,000-endpoint headless service that
// changed (its port number flips on every pass: every SRV record is
// rebuilt, the names stay), and one that did not (a comparison with the
// catalog's copy).
func BenchmarkSetService1000(b *testing.B) {
	b.Run("changed", func(b *testing.B) {
		c := NewCatalog(CatalogOptions{})
		s := headlessService(1000)
		b.ReportAllocs()
		for i := range b.N {
			s.Ports[0].Port = 80 + uint16(i%2)
			if err := c.SetService(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		c := NewCatalog(CatalogOptions{})
		s := headlessService(1000)
		if err := c.SetService(s); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := c.SetService(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReplace10000Unchanged hands the catalog its whole state of
// 10,000 services again, unchanged: what a caller syncing everything on
// every event pays.
func BenchmarkReplace10000Unchanged(b *testing.B) {
	c := NewCatalog(CatalogOptions{})
	svcs := make([]Service, 10_000)
	for i := range svcs {
		svcs[i] = Service{Namespace: fmt.Sprintf("ns%d", i%50), Name: fmt.Sprintf("svc%d", i),
			ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})},
			Ports:      []Port{{Name: "http", Port: 80}}}
	}
	if err := c.Replace(svcs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := c.Replace(svcs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExpand(b *testing.B) {
	search := PodSearch("default", "cluster.local")
	b.ReportAllocs()
	for range b.N {
		sinkStrings = Expand("api.example.com", search, DefaultNdots)
	}
}

var sinkStrings []string
