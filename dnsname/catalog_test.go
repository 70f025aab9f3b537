package dnsname

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// render turns records into single-spaced zone-file lines.
func render(rs []Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = strings.Join(strings.Fields(r.String()), " ")
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = mp(s)
	}
	return out
}

type query struct {
	name      string
	qname     string
	qtype     Type
	want      Result
	records   []string // nil: expect no records
	extra     []string // nil: do not check
	unordered bool
}

func runQueries(t *testing.T, c *Catalog, qs []query) {
	t.Helper()
	for _, q := range qs {
		t.Run(q.name, func(t *testing.T) {
			ans, res := c.Lookup(q.qname, q.qtype)
			if res != q.want {
				t.Fatalf("Lookup(%q, %v) result = %v; want %v (records %q)", q.qname, q.qtype, res, q.want, render(ans.Records))
			}
			got := render(ans.Records)
			want := q.records
			if q.unordered {
				slices.Sort(got)
				want = slices.Clone(want)
				slices.Sort(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Lookup(%q, %v) = %q; want %q", q.qname, q.qtype, got, want)
			}
			if q.extra != nil && !slices.Equal(render(ans.Extra), q.extra) {
				t.Errorf("Lookup(%q, %v) extra = %q; want %q", q.qname, q.qtype, render(ans.Extra), q.extra)
			}
		})
	}
}

func mustSet(t *testing.T, c *Catalog, s Service) {
	t.Helper()
	if err := c.SetService(s); err != nil {
		t.Fatalf("SetService(%s/%s) = %v; want nil", s.Namespace, s.Name, err)
	}
}

const z = ".cluster.local."

func TestCatalogClusterIP(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	mustSet(t, c, Service{
		Namespace: "prod", Name: "api", ClusterIPs: addrs("10.96.0.10", "fd00::10"),
		Ports: []Port{{Name: "http", Port: 80}, {Name: "dns", Protocol: UDP, Port: 53}, {Port: 9090}},
		// Endpoints do not change a ClusterIP service's records.
		Endpoints: []Endpoint{{Addrs: addrs("10.1.0.1"), Hostname: "x", Ready: true}},
	})
	mustSet(t, c, Service{Namespace: "prod", Name: "v4only", ClusterIPs: addrs("10.96.0.11")})
	mustSet(t, c, Service{Namespace: "prod", Name: "noeps", ClusterIPs: addrs("10.96.0.12"), Ports: []Port{{Name: "http", Port: 80}}})
	runQueries(t, c, []query{
		{name: "A", qname: "api.prod.svc" + z, qtype: TypeA, want: Success, records: []string{"api.prod.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "AAAA dual-stack", qname: "api.prod.svc" + z, qtype: TypeAAAA, want: Success, records: []string{"api.prod.svc.cluster.local. 5 IN AAAA fd00::10"}},
		{name: "AAAA v4 only is NODATA", qname: "v4only.prod.svc" + z, qtype: TypeAAAA, want: NoData},
		{name: "TXT on a service is NODATA", qname: "api.prod.svc" + z, qtype: TypeTXT, want: NoData},
		{name: "A without endpoints", qname: "noeps.prod.svc" + z, qtype: TypeA, want: Success, records: []string{"noeps.prod.svc.cluster.local. 5 IN A 10.96.0.12"}},
		{name: "case-insensitive, no trailing dot", qname: "API.Prod.Svc.CLUSTER.local", qtype: TypeA, want: Success, records: []string{"api.prod.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "SRV named port", qname: "_http._tcp.api.prod.svc" + z, qtype: TypeSRV, want: Success,
			records: []string{"_http._tcp.api.prod.svc.cluster.local. 5 IN SRV 0 100 80 api.prod.svc.cluster.local."},
			extra:   []string{"api.prod.svc.cluster.local. 5 IN A 10.96.0.10", "api.prod.svc.cluster.local. 5 IN AAAA fd00::10"}},
		{name: "SRV udp port", qname: "_dns._udp.api.prod.svc" + z, qtype: TypeSRV, want: Success,
			records: []string{"_dns._udp.api.prod.svc.cluster.local. 5 IN SRV 0 100 53 api.prod.svc.cluster.local."}},
		{name: "SRV wrong protocol", qname: "_dns._tcp.api.prod.svc" + z, qtype: TypeSRV, want: NXDomain},
		{name: "SRV name, A type", qname: "_http._tcp.api.prod.svc" + z, qtype: TypeA, want: NoData},
		{name: "SRV of service name lists every port", qname: "api.prod.svc" + z, qtype: TypeSRV, want: Success, records: []string{
			"api.prod.svc.cluster.local. 5 IN SRV 0 33 80 api.prod.svc.cluster.local.",
			"api.prod.svc.cluster.local. 5 IN SRV 0 33 53 api.prod.svc.cluster.local.",
			"api.prod.svc.cluster.local. 5 IN SRV 0 33 9090 api.prod.svc.cluster.local.",
		}},
		{name: "SRV without endpoints", qname: "_http._tcp.noeps.prod.svc" + z, qtype: TypeSRV, want: Success,
			records: []string{"_http._tcp.noeps.prod.svc.cluster.local. 5 IN SRV 0 100 80 noeps.prod.svc.cluster.local."}},
		{name: "PTR v4", qname: "10.0.96.10.in-addr.arpa.", qtype: TypePTR, want: Success, records: []string{"10.0.96.10.in-addr.arpa. 5 IN PTR api.prod.svc.cluster.local."}},
		{name: "PTR v6", qname: ReverseName(mp("fd00::10")), qtype: TypePTR, want: Success, records: []string{ReverseName(mp("fd00::10")) + " 5 IN PTR api.prod.svc.cluster.local."}},
		{name: "reverse known, A is NODATA", qname: "10.0.96.10.in-addr.arpa.", qtype: TypeA, want: NoData},
		{name: "reverse unknown is not ours", qname: "99.0.96.10.in-addr.arpa.", qtype: TypePTR, want: NotOurs},
		{name: "ClusterIP endpoints have no names", qname: "x.api.prod.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "missing service", qname: "nope.prod.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "namespace with services", qname: "prod.svc" + z, qtype: TypeA, want: NoData},
		{name: "namespace without services", qname: "empty.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "apex SOA", qname: "cluster.local.", qtype: TypeSOA, want: NoData},
		{name: "apex NS", qname: "cluster.local.", qtype: TypeNS, want: NoData},
		{name: "svc node", qname: "svc" + z, qtype: TypeA, want: NoData},
		{name: "invalid form", qname: "a.b.c.cluster.local.", qtype: TypeA, want: NXDomain},
		{name: "not ours", qname: "example.com.", qtype: TypeA, want: NotOurs},
		{name: "version TXT", qname: "dns-version" + z, qtype: TypeTXT, want: Success, records: []string{`dns-version.cluster.local. 5 IN TXT "1.1.0"`}},
		{name: "version A", qname: "dns-version" + z, qtype: TypeA, want: NoData},
		// RFC 8482 §4.1: one RRset, the first in type order.
		{name: "ANY", qname: "api.prod.svc" + z, qtype: TypeANY, want: Success, records: []string{
			"api.prod.svc.cluster.local. 5 IN A 10.96.0.10",
		}},
		{name: "ANY on an SRV name", qname: "_http._tcp.api.prod.svc" + z, qtype: TypeANY, want: Success, records: []string{
			"_http._tcp.api.prod.svc.cluster.local. 5 IN SRV 0 100 80 api.prod.svc.cluster.local.",
		}, extra: []string{
			"api.prod.svc.cluster.local. 5 IN A 10.96.0.10",
			"api.prod.svc.cluster.local. 5 IN AAAA fd00::10",
		}},
	})
}

func TestCatalogHeadless(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	mustSet(t, c, Service{
		Namespace: "prod", Name: "db", Type: Headless,
		Ports: []Port{{Name: "pg", Port: 5432}},
		Endpoints: []Endpoint{
			{Addrs: addrs("10.1.0.1"), Hostname: "db-0", Ready: true},
			{Addrs: addrs("10.1.0.2", "fd00::2"), Hostname: "db-1", Ready: true},
			{Addrs: addrs("10.1.0.3"), Ready: true},
			{Addrs: addrs("10.1.0.4"), Hostname: "db-3", Ready: false},
			{Addrs: addrs("10.1.0.1"), Hostname: "db-0", Ready: true}, // same address in a second slice
		},
	})
	mustSet(t, c, Service{
		Namespace: "prod", Name: "pub", Type: Headless, PublishNotReadyAddresses: true,
		Endpoints: []Endpoint{{Addrs: addrs("10.2.0.1"), Ready: true}, {Addrs: addrs("10.2.0.2"), Hostname: "late", Ready: false}},
	})
	mustSet(t, c, Service{Namespace: "prod", Name: "starting", Type: Headless, Ports: []Port{{Name: "http", Port: 80}},
		Endpoints: []Endpoint{{Addrs: addrs("10.3.0.1"), Hostname: "s-0"}}})
	mustSet(t, c, Service{Namespace: "prod", Name: "empty", Type: Headless, Ports: []Port{{Name: "http", Port: 80}}})
	// Two endpoints claiming one hostname share the name.
	mustSet(t, c, Service{Namespace: "prod", Name: "dup", Type: Headless, Endpoints: []Endpoint{
		{Addrs: addrs("10.5.0.1"), Hostname: "same", Ready: true},
		{Addrs: addrs("10.5.0.2"), Hostname: "other", Ready: true},
		{Addrs: addrs("10.5.0.3"), Hostname: "same", Ready: true},
	}})
	mustSet(t, c, Service{Namespace: "prod", Name: "v6", Type: Headless,
		Endpoints: []Endpoint{{Addrs: addrs("fd00::a:1"), Ready: true}}})
	// A hostname spelled like another endpoint's address shares its
	// name, as CoreDNS matches either against the query.
	mustSet(t, c, Service{Namespace: "prod", Name: "alias", Type: Headless, Endpoints: []Endpoint{
		{Addrs: addrs("10.6.0.9", "fd00::6:9"), Hostname: "10-6-0-2", Ready: true},
		{Addrs: addrs("10.6.0.2"), Ready: true},
	}})
	runQueries(t, c, []query{
		{name: "A per ready endpoint", qname: "db.prod.svc" + z, qtype: TypeA, want: Success, unordered: true, records: []string{
			"db.prod.svc.cluster.local. 5 IN A 10.1.0.1",
			"db.prod.svc.cluster.local. 5 IN A 10.1.0.2",
			"db.prod.svc.cluster.local. 5 IN A 10.1.0.3",
		}},
		{name: "AAAA", qname: "db.prod.svc" + z, qtype: TypeAAAA, want: Success, records: []string{"db.prod.svc.cluster.local. 5 IN AAAA fd00::2"}},
		{name: "hostname record", qname: "db-0.db.prod.svc" + z, qtype: TypeA, want: Success, records: []string{"db-0.db.prod.svc.cluster.local. 5 IN A 10.1.0.1"}},
		{name: "hostname dual-stack AAAA", qname: "db-1.db.prod.svc" + z, qtype: TypeAAAA, want: Success, records: []string{"db-1.db.prod.svc.cluster.local. 5 IN AAAA fd00::2"}},
		{name: "dashed endpoint name", qname: "10-1-0-3.db.prod.svc" + z, qtype: TypeA, want: Success, records: []string{"10-1-0-3.db.prod.svc.cluster.local. 5 IN A 10.1.0.3"}},
		{name: "dashed v6 endpoint name", qname: "fd00--a-1.v6.prod.svc" + z, qtype: TypeAAAA, want: Success, records: []string{"fd00--a-1.v6.prod.svc.cluster.local. 5 IN AAAA fd00::a:1"}},
		{name: "v6-only headless, A is NODATA", qname: "v6.prod.svc" + z, qtype: TypeA, want: NoData},
		{name: "not-ready hostname absent", qname: "db-3.db.prod.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "SRV per endpoint", qname: "_pg._tcp.db.prod.svc" + z, qtype: TypeSRV, want: Success, records: []string{
			"_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 33 5432 db-0.db.prod.svc.cluster.local.",
			"_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 33 5432 db-1.db.prod.svc.cluster.local.",
			"_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 33 5432 10-1-0-3.db.prod.svc.cluster.local.",
		}, extra: []string{
			"db-0.db.prod.svc.cluster.local. 5 IN A 10.1.0.1",
			"db-1.db.prod.svc.cluster.local. 5 IN A 10.1.0.2",
			"db-1.db.prod.svc.cluster.local. 5 IN AAAA fd00::2",
			"10-1-0-3.db.prod.svc.cluster.local. 5 IN A 10.1.0.3",
		}},
		{name: "PTR to hostname", qname: "1.0.1.10.in-addr.arpa.", qtype: TypePTR, want: Success, records: []string{"1.0.1.10.in-addr.arpa. 5 IN PTR db-0.db.prod.svc.cluster.local."}},
		{name: "PTR to dashed name", qname: "3.0.1.10.in-addr.arpa.", qtype: TypePTR, want: Success, records: []string{"3.0.1.10.in-addr.arpa. 5 IN PTR 10-1-0-3.db.prod.svc.cluster.local."}},
		{name: "PTR v6 endpoint", qname: ReverseName(mp("fd00::2")), qtype: TypePTR, want: Success, records: []string{ReverseName(mp("fd00::2")) + " 5 IN PTR db-1.db.prod.svc.cluster.local."}},
		{name: "no PTR for not-ready", qname: "4.0.1.10.in-addr.arpa.", qtype: TypePTR, want: NotOurs},
		{name: "publishNotReadyAddresses", qname: "pub.prod.svc" + z, qtype: TypeA, want: Success, records: []string{
			"pub.prod.svc.cluster.local. 5 IN A 10.2.0.1",
			"pub.prod.svc.cluster.local. 5 IN A 10.2.0.2",
		}},
		{name: "publishNotReadyAddresses hostname", qname: "late.pub.prod.svc" + z, qtype: TypeA, want: Success, records: []string{"late.pub.prod.svc.cluster.local. 5 IN A 10.2.0.2"}},
		{name: "shared hostname", qname: "same.dup.prod.svc" + z, qtype: TypeA, want: Success, records: []string{
			"same.dup.prod.svc.cluster.local. 5 IN A 10.5.0.1",
			"same.dup.prod.svc.cluster.local. 5 IN A 10.5.0.3",
		}},
		{name: "shared hostname, other", qname: "other.dup.prod.svc" + z, qtype: TypeA, want: Success, records: []string{"other.dup.prod.svc.cluster.local. 5 IN A 10.5.0.2"}},
		{name: "hostname spelled as another's address", qname: "10-6-0-2.alias.prod.svc" + z, qtype: TypeA, want: Success, unordered: true, records: []string{
			"10-6-0-2.alias.prod.svc.cluster.local. 5 IN A 10.6.0.2",
			"10-6-0-2.alias.prod.svc.cluster.local. 5 IN A 10.6.0.9",
		}},
		{name: "hostname spelled as another's address, AAAA", qname: "10-6-0-2.alias.prod.svc" + z, qtype: TypeAAAA, want: Success, records: []string{
			"10-6-0-2.alias.prod.svc.cluster.local. 5 IN AAAA fd00::6:9",
		}},
		{name: "none ready is NXDOMAIN", qname: "starting.prod.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "none ready, SRV NXDOMAIN", qname: "_http._tcp.starting.prod.svc" + z, qtype: TypeSRV, want: NXDomain},
		{name: "no endpoints is NXDOMAIN", qname: "empty.prod.svc" + z, qtype: TypeA, want: NXDomain},
	})
}

func TestCatalogSRVWeights(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 100, 101} {
		eps := make([]Endpoint, n)
		for i := range eps {
			eps[i] = Endpoint{Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})}, Ready: true}
		}
		c := NewCatalog(CatalogOptions{})
		mustSet(t, c, Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{{Name: "p", Port: 1}}, Endpoints: eps})
		ans, res := c.Lookup("_p._tcp.h.ns.svc"+z, TypeSRV)
		if res != Success || len(ans.Records) != n {
			t.Fatalf("%d endpoints: Lookup SRV = %d records, %v; want %d, Success", n, len(ans.Records), res, n)
		}
		for _, r := range ans.Records {
			if r.Priority != 0 || int(r.Weight) != 100/n {
				t.Errorf("%d endpoints: SRV priority/weight = %d/%d; want 0/%d", n, r.Priority, r.Weight, 100/n)
			}
		}
	}
}

func TestCatalogExternalName(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	mustSet(t, c, Service{Namespace: "prod", Name: "ext", Type: ExternalName, ExternalName: "db.Example.com."})
	mustSet(t, c, Service{Namespace: "prod", Name: "extip", Type: ExternalName, ExternalName: "192.0.2.1"})
	mustSet(t, c, Service{Namespace: "prod", Name: "extip6", Type: ExternalName, ExternalName: "2001:db8::1"})
	cname := []string{"ext.prod.svc.cluster.local. 5 IN CNAME db.example.com."}
	runQueries(t, c, []query{
		{name: "A gets CNAME", qname: "ext.prod.svc" + z, qtype: TypeA, want: Success, records: cname},
		{name: "AAAA gets CNAME", qname: "ext.prod.svc" + z, qtype: TypeAAAA, want: Success, records: cname},
		{name: "CNAME", qname: "ext.prod.svc" + z, qtype: TypeCNAME, want: Success, records: cname},
		{name: "SRV gets CNAME", qname: "ext.prod.svc" + z, qtype: TypeSRV, want: Success, records: cname},
		{name: "IP target gives nothing", qname: "extip.prod.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "IPv6 target gives nothing", qname: "extip6.prod.svc" + z, qtype: TypeCNAME, want: NXDomain},
	})
}

func TestCatalogPods(t *testing.T) {
	disabled := NewCatalog(CatalogOptions{})
	insecure := NewCatalog(CatalogOptions{PodRecords: PodsInsecure})
	verified := NewCatalog(CatalogOptions{PodRecords: PodsVerified})
	if err := verified.SetPod(Pod{Namespace: "default", Name: "web-1", Addrs: addrs("10.3.0.2", "fd00::3:2")}); err != nil {
		t.Fatal(err)
	}
	const v4 = "10-3-0-2.default.pod" + z
	a := []string{"10-3-0-2.default.pod.cluster.local. 5 IN A 10.3.0.2"}
	t.Run("disabled", func(t *testing.T) {
		runQueries(t, disabled, []query{{name: "A", qname: v4, qtype: TypeA, want: NXDomain}})
	})
	t.Run("insecure", func(t *testing.T) {
		runQueries(t, insecure, []query{
			{name: "A", qname: v4, qtype: TypeA, want: Success, records: a},
			{name: "any namespace", qname: "10-3-0-2.other.pod" + z, qtype: TypeA, want: Success, records: []string{"10-3-0-2.other.pod.cluster.local. 5 IN A 10.3.0.2"}},
			{name: "upper case", qname: "10-3-0-2.DEFAULT.pod.cluster.local", qtype: TypeA, want: Success, records: a},
			{name: "AAAA of v4 is NODATA", qname: v4, qtype: TypeAAAA, want: NoData},
			{name: "v6", qname: "fd00--3-2.default.pod" + z, qtype: TypeAAAA, want: Success, records: []string{"fd00--3-2.default.pod.cluster.local. 5 IN AAAA fd00::3:2"}},
			{name: "not an address", qname: "web.default.pod" + z, qtype: TypeA, want: NXDomain},
			{name: "pod namespace node", qname: "default.pod" + z, qtype: TypeA, want: NoData},
		})
	})
	t.Run("verified", func(t *testing.T) {
		runQueries(t, verified, []query{
			{name: "known", qname: v4, qtype: TypeA, want: Success, records: a},
			{name: "known v6", qname: "fd00--3-2.default.pod" + z, qtype: TypeAAAA, want: Success, records: []string{"fd00--3-2.default.pod.cluster.local. 5 IN AAAA fd00::3:2"}},
			{name: "other namespace", qname: "10-3-0-2.other.pod" + z, qtype: TypeA, want: NXDomain},
			{name: "unknown address", qname: "10-3-0-9.default.pod" + z, qtype: TypeA, want: NXDomain},
		})
		if !verified.DeletePod("default", "web-1") {
			t.Fatal("DeletePod(default, web-1) = false; want true")
		}
		runQueries(t, verified, []query{{name: "deleted", qname: v4, qtype: TypeA, want: NXDomain}})
		if verified.DeletePod("default", "web-1") {
			t.Error("second DeletePod(default, web-1) = true; want false")
		}
	})
	t.Run("invalid pod", func(t *testing.T) {
		if err := verified.SetPod(Pod{Namespace: "Bad", Name: "x"}); !errors.Is(err, ErrInvalidPod) || !errors.Is(err, ErrInvalidLabel) {
			t.Errorf("SetPod(Bad/x) = %v; want ErrInvalidPod and ErrInvalidLabel", err)
		}
	})
}

func TestCatalogUpdates(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	mustSet(t, c, Service{Namespace: "a", Name: "one", ClusterIPs: addrs("10.96.0.1")})
	mustSet(t, c, Service{Namespace: "a", Name: "two", ClusterIPs: addrs("10.96.0.2")})
	// A headless endpoint that shares the cluster IP of "one" gives the
	// reverse name a second PTR record.
	mustSet(t, c, Service{Namespace: "b", Name: "h", Type: Headless, Endpoints: []Endpoint{{Addrs: addrs("10.96.0.1"), Hostname: "x", Ready: true}}})
	runQueries(t, c, []query{
		{name: "shared PTR", qname: "1.0.96.10.in-addr.arpa.", qtype: TypePTR, want: Success, records: []string{
			"1.0.96.10.in-addr.arpa. 5 IN PTR one.a.svc.cluster.local.",
			"1.0.96.10.in-addr.arpa. 5 IN PTR x.h.b.svc.cluster.local.",
		}},
	})
	// Replace "one" with a new IP: the old A and PTR go, the others stay.
	mustSet(t, c, Service{Namespace: "a", Name: "one", ClusterIPs: addrs("10.96.0.9")})
	runQueries(t, c, []query{
		{name: "replaced A", qname: "one.a.svc" + z, qtype: TypeA, want: Success, records: []string{"one.a.svc.cluster.local. 5 IN A 10.96.0.9"}},
		{name: "old PTR keeps other owner", qname: "1.0.96.10.in-addr.arpa.", qtype: TypePTR, want: Success, records: []string{"1.0.96.10.in-addr.arpa. 5 IN PTR x.h.b.svc.cluster.local."}},
		{name: "new PTR", qname: "9.0.96.10.in-addr.arpa.", qtype: TypePTR, want: Success, records: []string{"9.0.96.10.in-addr.arpa. 5 IN PTR one.a.svc.cluster.local."}},
		{name: "untouched", qname: "two.a.svc" + z, qtype: TypeA, want: Success, records: []string{"two.a.svc.cluster.local. 5 IN A 10.96.0.2"}},
	})
	// Type change: ClusterIP to ExternalName.
	mustSet(t, c, Service{Namespace: "a", Name: "two", Type: ExternalName, ExternalName: "example.com"})
	runQueries(t, c, []query{
		{name: "now CNAME", qname: "two.a.svc" + z, qtype: TypeA, want: Success, records: []string{"two.a.svc.cluster.local. 5 IN CNAME example.com."}},
		{name: "old PTR gone", qname: "2.0.96.10.in-addr.arpa.", qtype: TypePTR, want: NotOurs},
	})
	if !c.DeleteService("a", "one") || !c.DeleteService("a", "two") {
		t.Fatal("DeleteService = false; want true")
	}
	if c.DeleteService("a", "one") {
		t.Error("second DeleteService(a, one) = true; want false")
	}
	runQueries(t, c, []query{
		{name: "deleted", qname: "one.a.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "deleted PTR", qname: "9.0.96.10.in-addr.arpa.", qtype: TypePTR, want: NotOurs},
		{name: "namespace gone", qname: "a.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "other namespace stays", qname: "b.svc" + z, qtype: TypeA, want: NoData},
		{name: "headless stays", qname: "x.h.b.svc" + z, qtype: TypeA, want: Success, records: []string{"x.h.b.svc.cluster.local. 5 IN A 10.96.0.1"}},
	})
	// An invalid update leaves the previous records.
	if err := c.SetService(Service{Namespace: "b", Name: "h", Type: Headless, Endpoints: []Endpoint{{Addrs: addrs("10.0.0.1"), Hostname: "Bad_Host", Ready: true}}}); err == nil {
		t.Fatal("SetService with an invalid hostname = nil; want error")
	}
	runQueries(t, c, []query{{name: "unchanged after error", qname: "x.h.b.svc" + z, qtype: TypeA, want: Success, records: []string{"x.h.b.svc.cluster.local. 5 IN A 10.96.0.1"}}})
}

func TestCatalogOptions(t *testing.T) {
	c := NewCatalog(CatalogOptions{Zone: "Example.ORG.", TTL: 30 * time.Second, EndpointPodNames: true})
	if c.Zone() != "example.org" {
		t.Errorf("Zone() = %q; want example.org", c.Zone())
	}
	mustSet(t, c, Service{Namespace: "ns", Name: "h", Type: Headless, Endpoints: []Endpoint{
		{Addrs: addrs("10.0.0.1"), PodName: "h-abcde", Ready: true},
		{Addrs: addrs("10.0.0.2"), PodName: strings.Repeat("p", 64), Ready: true},
	}})
	runQueries(t, c, []query{
		{name: "pod name label", qname: "h-abcde.h.ns.svc.example.org.", qtype: TypeA, want: Success, records: []string{"h-abcde.h.ns.svc.example.org. 30 IN A 10.0.0.1"}},
		{name: "long pod name falls back", qname: "10-0-0-2.h.ns.svc.example.org.", qtype: TypeA, want: Success, records: []string{"10-0-0-2.h.ns.svc.example.org. 30 IN A 10.0.0.2"}},
		{name: "version in zone", qname: "dns-version.example.org.", qtype: TypeTXT, want: Success, records: []string{`dns-version.example.org. 30 IN TXT "1.1.0"`}},
		{name: "cluster.local is not ours", qname: "h.ns.svc.cluster.local.", qtype: TypeA, want: NotOurs},
	})
}

func TestSetServiceInvalid(t *testing.T) {
	tests := []struct {
		name string
		s    Service
		want error
	}{
		{"zero", Service{}, ErrInvalidLabel},
		{"bad namespace", Service{Namespace: "Prod", Name: "a", ClusterIPs: addrs("10.0.0.1")}, ErrInvalidLabel},
		{"digit-led name", Service{Namespace: "p", Name: "1a", ClusterIPs: addrs("10.0.0.1")}, ErrInvalidLabel},
		{"no cluster IP", Service{Namespace: "p", Name: "a"}, ErrInvalidService},
		{"invalid cluster IP", Service{Namespace: "p", Name: "a", ClusterIPs: []netip.Addr{{}}}, ErrInvalidService},
		{"bad port name", Service{Namespace: "p", Name: "a", ClusterIPs: addrs("10.0.0.1"), Ports: []Port{{Name: "HTTP", Port: 80}}}, ErrInvalidLabel},
		{"bad protocol", Service{Namespace: "p", Name: "a", ClusterIPs: addrs("10.0.0.1"), Ports: []Port{{Name: "x", Protocol: Protocol(9)}}}, ErrInvalidService},
		{"empty external name", Service{Namespace: "p", Name: "a", Type: ExternalName}, ErrInvalidService},
		{"bad external name", Service{Namespace: "p", Name: "a", Type: ExternalName, ExternalName: "a..b"}, ErrInvalidSubdomain},
		{"bad endpoint address", Service{Namespace: "p", Name: "a", Type: Headless, Endpoints: []Endpoint{{Addrs: []netip.Addr{{}}}}}, ErrInvalidService},
		{"unknown type", Service{Namespace: "p", Name: "a", Type: 9}, ErrInvalidService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCatalog(CatalogOptions{})
			if err := c.SetService(tt.s); !errors.Is(err, tt.want) {
				t.Errorf("SetService(%+v) = %v; want %v", tt.s, err, tt.want)
			}
			if _, err := RecordSet(tt.s, CatalogOptions{}); !errors.Is(err, tt.want) {
				t.Errorf("RecordSet(%+v) = %v; want %v", tt.s, err, tt.want)
			}
		})
	}
}

func TestRecordSet(t *testing.T) {
	rs, err := RecordSet(Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{{Name: "web", Port: 80}},
		Endpoints: []Endpoint{{Addrs: addrs("10.0.0.1"), Hostname: "h-0", Ready: true}, {Addrs: addrs("10.0.0.2"), Ready: true}}}, CatalogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"h.ns.svc.cluster.local. 5 IN A 10.0.0.1",
		"h.ns.svc.cluster.local. 5 IN A 10.0.0.2",
		"h.ns.svc.cluster.local. 5 IN SRV 0 50 80 h-0.h.ns.svc.cluster.local.",
		"h.ns.svc.cluster.local. 5 IN SRV 0 50 80 10-0-0-2.h.ns.svc.cluster.local.",
		"h-0.h.ns.svc.cluster.local. 5 IN A 10.0.0.1",
		"10-0-0-2.h.ns.svc.cluster.local. 5 IN A 10.0.0.2",
		"1.0.0.10.in-addr.arpa. 5 IN PTR h-0.h.ns.svc.cluster.local.",
		"2.0.0.10.in-addr.arpa. 5 IN PTR 10-0-0-2.h.ns.svc.cluster.local.",
		"_web._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 50 80 h-0.h.ns.svc.cluster.local.",
		"_web._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 50 80 10-0-0-2.h.ns.svc.cluster.local.",
	}
	if got := render(rs); !slices.Equal(got, want) {
		t.Errorf("RecordSet() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRecordSetSharedName: a hostname spelled like another endpoint's
// address gives one name, with the addresses of both and one SRV record
// per port.
func TestRecordSetSharedName(t *testing.T) {
	rs, err := RecordSet(Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{{Name: "http", Port: 80}},
		Endpoints: []Endpoint{{Addrs: addrs("10.0.0.9", "fd00::9"), Hostname: "10-0-0-2", Ready: true}, {Addrs: addrs("10.0.0.2"), Ready: true}}}, CatalogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"h.ns.svc.cluster.local. 5 IN A 10.0.0.9",
		"h.ns.svc.cluster.local. 5 IN A 10.0.0.2",
		"h.ns.svc.cluster.local. 5 IN AAAA fd00::9",
		"h.ns.svc.cluster.local. 5 IN SRV 0 100 80 10-0-0-2.h.ns.svc.cluster.local.",
		"10-0-0-2.h.ns.svc.cluster.local. 5 IN A 10.0.0.9",
		"10-0-0-2.h.ns.svc.cluster.local. 5 IN A 10.0.0.2",
		"10-0-0-2.h.ns.svc.cluster.local. 5 IN AAAA fd00::9",
		"9.0.0.10.in-addr.arpa. 5 IN PTR 10-0-0-2.h.ns.svc.cluster.local.",
		ReverseName(mp("fd00::9")) + " 5 IN PTR 10-0-0-2.h.ns.svc.cluster.local.",
		"2.0.0.10.in-addr.arpa. 5 IN PTR 10-0-0-2.h.ns.svc.cluster.local.",
		"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 100 80 10-0-0-2.h.ns.svc.cluster.local.",
	}
	if got := render(rs); !slices.Equal(got, want) {
		t.Errorf("RecordSet() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCatalogConcurrent(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ans, res := c.Lookup("s.ns.svc.cluster.local.", TypeA)
				if res == Success && (len(ans.Records) != 1 || ans.Records[0].Type != TypeA) {
					t.Errorf("concurrent Lookup = %q", render(ans.Records))
					return
				}
			}
		}()
	}
	for i := 0; i < 500; i++ {
		mustSet(t, c, Service{Namespace: "ns", Name: "s", ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}})
		if i%3 == 0 {
			c.DeleteService("ns", "s")
		}
	}
	close(stop)
	wg.Wait()
}

func TestZeroValues(t *testing.T) {
	var n Name
	if n.Kind != KindNotOurs {
		t.Errorf("zero Name kind = %v; want NotOurs", n.Kind)
	}
	var r Result
	if r != Success {
		t.Errorf("zero Result = %v; want Success", r)
	}
	var st ServiceType
	if st != ClusterIP {
		t.Errorf("zero ServiceType = %v; want ClusterIP", st)
	}
	var pm PodMode
	if pm != PodsDisabled {
		t.Errorf("zero PodMode = %v; want PodsDisabled", pm)
	}
	if got := Type(99).String(); got != "TYPE99" {
		t.Errorf("Type(99).String() = %q; want TYPE99", got)
	}
}
