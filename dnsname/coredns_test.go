package dnsname

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tables pin the answers where svcnet and CoreDNS 1.15's kubernetes
// plugin (configured as kubeadm does) were compared, and where the RFCs
// decide against CoreDNS.

// RFC 2181 §5.2: an RRset holds no duplicate records. CoreDNS 1.15 lists a
// (target, port) pair once in an SRV answer (backend_lookup.go's
// isDuplicate), weighting over every pair before dropping the repeat.
func TestNoDuplicateSRV(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	dns := []Port{{Name: "dns", Protocol: UDP, Port: 53}, {Name: "dns-tcp", Protocol: TCP, Port: 53}, {Name: "metrics", Port: 9153}}
	mustSet(t, c, Service{Namespace: "kube-system", Name: "kube-dns", ClusterIPs: addrs("10.96.0.10"), Ports: dns})
	mustSet(t, c, Service{Namespace: "kube-system", Name: "h", Type: Headless, Ports: dns, Endpoints: []Endpoint{
		{Addrs: addrs("10.1.0.1"), Hostname: "a", Ready: true},
		{Addrs: addrs("10.1.0.2"), Ready: true},
	}})
	runQueries(t, c, []query{
		{name: "ClusterIP service name", qname: "kube-dns.kube-system.svc" + z, qtype: TypeSRV, want: Success, records: []string{
			"kube-dns.kube-system.svc.cluster.local. 5 IN SRV 0 33 53 kube-dns.kube-system.svc.cluster.local.",
			"kube-dns.kube-system.svc.cluster.local. 5 IN SRV 0 33 9153 kube-dns.kube-system.svc.cluster.local.",
		}},
		{name: "headless service name", qname: "h.kube-system.svc" + z, qtype: TypeSRV, want: Success, unordered: true, records: []string{
			"h.kube-system.svc.cluster.local. 5 IN SRV 0 16 53 a.h.kube-system.svc.cluster.local.",
			"h.kube-system.svc.cluster.local. 5 IN SRV 0 16 53 10-1-0-2.h.kube-system.svc.cluster.local.",
			"h.kube-system.svc.cluster.local. 5 IN SRV 0 16 9153 a.h.kube-system.svc.cluster.local.",
			"h.kube-system.svc.cluster.local. 5 IN SRV 0 16 9153 10-1-0-2.h.kube-system.svc.cluster.local.",
		}},
		{name: "per-protocol names keep their record", qname: "_dns-tcp._tcp.kube-dns.kube-system.svc" + z, qtype: TypeSRV, want: Success, records: []string{
			"_dns-tcp._tcp.kube-dns.kube-system.svc.cluster.local. 5 IN SRV 0 100 53 kube-dns.kube-system.svc.cluster.local.",
		}},
	})
	rs, err := RecordSet(Service{Namespace: "kube-system", Name: "kube-dns", ClusterIPs: addrs("10.96.0.10"), Ports: dns}, CatalogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := render(rs)
	for i, r := range got {
		if slices.Contains(got[:i], r) {
			t.Errorf("RecordSet lists %q twice", r)
		}
	}
}

// RFC 8020 §2: NXDOMAIN means nothing exists at or below a name, so the
// empty non-terminals above existing names answer NODATA. CoreDNS 1.15
// answers NXDOMAIN for several of them; svcnet follows the RFC.
func TestEmptyNonTerminals(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	mustSet(t, c, Service{Namespace: "prod", Name: "api", ClusterIPs: addrs("10.96.0.10", "fd00::10"), Ports: []Port{{Name: "http", Port: 80}}})
	v6 := ReverseName(mp("fd00::10"))
	runQueries(t, c, []query{
		{name: "in-addr.arpa /8", qname: "10.in-addr.arpa.", qtype: TypePTR, want: NoData},
		{name: "in-addr.arpa /16", qname: "96.10.in-addr.arpa.", qtype: TypePTR, want: NoData},
		{name: "in-addr.arpa /24", qname: "0.96.10.IN-ADDR.ARPA", qtype: TypePTR, want: NoData},
		{name: "other /8 is not ours", qname: "11.in-addr.arpa.", qtype: TypePTR, want: NotOurs},
		{name: "other /24 is not ours", qname: "1.96.10.in-addr.arpa.", qtype: TypePTR, want: NotOurs},
		{name: "ip6.arpa nibble prefix", qname: v6[strings.Index(v6, "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6"):], qtype: TypePTR, want: NoData},
		{name: "SRV protocol node", qname: "_tcp.api.prod.svc" + z, qtype: TypeSRV, want: NoData},
		{name: "SRV protocol without ports", qname: "_udp.api.prod.svc" + z, qtype: TypeSRV, want: NXDomain},
		{name: "namespace", qname: "prod.svc" + z, qtype: TypeA, want: NoData},
		{name: "svc node", qname: "svc" + z, qtype: TypeA, want: NoData},
		{name: "apex", qname: "cluster.local.", qtype: TypeA, want: NoData},
	})
	c.DeleteService("prod", "api")
	runQueries(t, c, []query{
		{name: "gone /8", qname: "10.in-addr.arpa.", qtype: TypePTR, want: NotOurs},
		{name: "gone SRV protocol node", qname: "_tcp.api.prod.svc" + z, qtype: TypeSRV, want: NXDomain},
		{name: "gone svc node", qname: "svc" + z, qtype: TypeA, want: NXDomain},
		{name: "apex stays", qname: "cluster.local.", qtype: TypeA, want: NoData},
	})
	if len(c.kids) != 1 { // the apex, parent of dns-version
		t.Errorf("after deleting every service, %d names have children (%v); want 1", len(c.kids), c.kids)
	}
}

// "<ns>.pod.<zone>" and "pod.<zone>" exist exactly when a pod name below
// them answers (RFC 8020 §2). CoreDNS 1.15 answers NXDOMAIN for an unknown
// namespace in insecure mode (it knows Namespace objects; svcnet does not,
// and echoes every pod name) and NODATA for "<ns>.pod" with pods disabled
// or a verified namespace without pods, where nothing exists below.
func TestPodNodes(t *testing.T) {
	for _, tt := range []struct {
		mode         PodMode
		pod, ns, bad Result
	}{
		{PodsDisabled, NXDomain, NXDomain, NXDomain},
		{PodsInsecure, NoData, NoData, NXDomain},
		{PodsVerified, NoData, NoData, NXDomain},
	} {
		c := NewCatalog(CatalogOptions{PodRecords: tt.mode})
		if err := c.SetPod(Pod{Namespace: "default", Name: "p", Addrs: addrs("10.1.0.1")}); err != nil {
			t.Fatal(err)
		}
		empty := NXDomain
		if tt.mode == PodsInsecure {
			empty = NoData
		}
		for _, q := range []struct {
			name string
			want Result
		}{
			{"pod" + z, tt.pod},
			{"default.pod" + z, tt.ns},
			{"empty.pod" + z, empty},
			{"bad_ns.pod" + z, tt.bad},
		} {
			if _, res := c.Lookup(q.name, TypeA); res != q.want {
				t.Errorf("%v: Lookup(%q, A) = %v; want %v", tt.mode, q.name, res, q.want)
			}
		}
	}
}

// CoreDNS's "ttl" option takes 0 to 3600 seconds, default 5.
func TestTTLOption(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		want uint32
	}{
		{0, 5},
		{-1, 0},
		{30 * time.Second, 30},
		{1500 * time.Millisecond, 1},
		{2 * time.Hour, 3600},
	} {
		c := NewCatalog(CatalogOptions{TTL: tt.in})
		if c.TTL() != tt.want {
			t.Errorf("TTL %v: TTL() = %d; want %d", tt.in, c.TTL(), tt.want)
		}
		mustSet(t, c, Service{Namespace: "p", Name: "a", ClusterIPs: addrs("10.0.0.1")})
		if ans, _ := c.Lookup("a.p.svc"+z, TypeA); len(ans.Records) != 1 || ans.Records[0].TTL != tt.want {
			t.Errorf("TTL %v: answer %q; want TTL %d", tt.in, render(ans.Records), tt.want)
		}
	}
}

// CoreDNS 1.15 "ignore empty_service": a ClusterIP service without a
// ready endpoint address is NXDOMAIN; its cluster IP's PTR stays (the
// plugin's reverse lookup does not check endpoints).
func TestIgnoreEmptyService(t *testing.T) {
	c := NewCatalog(CatalogOptions{IgnoreEmptyService: true})
	svc := Service{Namespace: "p", Name: "a", ClusterIPs: addrs("10.0.0.1"), Ports: []Port{{Name: "http", Port: 80}},
		Endpoints: []Endpoint{{Addrs: addrs("10.1.0.1"), Ready: false}}}
	mustSet(t, c, svc)
	runQueries(t, c, []query{
		{name: "no ready endpoint", qname: "a.p.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "no ready endpoint SRV", qname: "_http._tcp.a.p.svc" + z, qtype: TypeSRV, want: NXDomain},
		{name: "PTR stays", qname: "1.0.0.10.in-addr.arpa.", qtype: TypePTR, want: Success, records: []string{"1.0.0.10.in-addr.arpa. 5 IN PTR a.p.svc.cluster.local."}},
	})
	svc.Endpoints = []Endpoint{{Addrs: addrs("10.1.0.1"), Ready: true}}
	mustSet(t, c, svc)
	runQueries(t, c, []query{
		{name: "ready endpoint", qname: "a.p.svc" + z, qtype: TypeA, want: Success, records: []string{"a.p.svc.cluster.local. 5 IN A 10.0.0.1"}},
	})
}

// The catalog keeps its own copy: a caller reusing its slices cannot make
// a changed service look unchanged, and an unchanged one is not rebuilt.
func TestSetServiceUnchanged(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	ips := addrs("10.0.0.1")
	svc := Service{Namespace: "p", Name: "a", ClusterIPs: ips}
	mustSet(t, c, svc)
	before := c.names["a.p.svc"+z]
	mustSet(t, c, Service{Namespace: "p", Name: "a", ClusterIPs: addrs("10.0.0.1")})
	if c.names["a.p.svc"+z] != before {
		t.Errorf("SetService of an equal service rebuilt its entry")
	}
	ips[0] = mp("10.0.0.2") // the caller edits the slice it passed
	mustSet(t, c, svc)
	if ans, _ := c.Lookup("a.p.svc"+z, TypeA); len(ans.Records) != 1 || ans.Records[0].Addr != mp("10.0.0.2") {
		t.Errorf("after an in-place edit, answer %q; want 10.0.0.2", render(ans.Records))
	}
}

func TestReplace(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	a := Service{Namespace: "p", Name: "a", ClusterIPs: addrs("10.0.0.1")}
	b := Service{Namespace: "p", Name: "b", ClusterIPs: addrs("10.0.0.2")}
	if err := c.Replace([]Service{a, b}); err != nil {
		t.Fatal(err)
	}
	entryA := c.names["a.p.svc"+z]
	bad := Service{Namespace: "p", Name: "b"} // a ClusterIP service without cluster IPs
	d := Service{Namespace: "q", Name: "d", ClusterIPs: addrs("10.0.0.4")}
	err := c.Replace([]Service{a, bad, d})
	if !errors.Is(err, ErrInvalidService) || !strings.Contains(err.Error(), "p/b") {
		t.Errorf("Replace with an invalid service = %v; want an error naming p/b wrapping ErrInvalidService", err)
	}
	if c.names["a.p.svc"+z] != entryA {
		t.Errorf("Replace rebuilt an unchanged service")
	}
	runQueries(t, c, []query{
		{name: "invalid keeps its last good version", qname: "b.p.svc" + z, qtype: TypeA, want: Success, records: []string{"b.p.svc.cluster.local. 5 IN A 10.0.0.2"}},
		{name: "added", qname: "d.q.svc" + z, qtype: TypeA, want: Success, records: []string{"d.q.svc.cluster.local. 5 IN A 10.0.0.4"}},
	})
	if err := c.Replace([]Service{d}); err != nil {
		t.Fatal(err)
	}
	runQueries(t, c, []query{
		{name: "left out is deleted", qname: "a.p.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "namespace gone", qname: "p.svc" + z, qtype: TypeA, want: NXDomain},
		{name: "kept", qname: "d.q.svc" + z, qtype: TypeA, want: Success, records: []string{"d.q.svc.cluster.local. 5 IN A 10.0.0.4"}},
	})
	if got := c.Services(); len(got) != 1 || got[0].Name != "d" {
		t.Errorf("Services() = %v; want [q/d]", got)
	}
}

func TestReplacePods(t *testing.T) {
	c := NewCatalog(CatalogOptions{PodRecords: PodsVerified})
	p1 := Pod{Namespace: "default", Name: "p1", Addrs: addrs("10.1.0.1")}
	p2 := Pod{Namespace: "default", Name: "p2", Addrs: addrs("10.1.0.2")}
	if err := c.ReplacePods([]Pod{p1, p2}); err != nil {
		t.Fatal(err)
	}
	err := c.ReplacePods([]Pod{p2, {Namespace: "Bad", Name: "x"}})
	if !errors.Is(err, ErrInvalidPod) {
		t.Errorf("ReplacePods with an invalid pod = %v; want ErrInvalidPod", err)
	}
	runQueries(t, c, []query{
		{name: "left out is forgotten", qname: "10-1-0-1.default.pod" + z, qtype: TypeA, want: NXDomain},
		{name: "kept", qname: "10-1-0-2.default.pod" + z, qtype: TypeA, want: Success, records: []string{"10-1-0-2.default.pod.cluster.local. 5 IN A 10.1.0.2"}},
	})
}

// The catalog's copy of a service reuses its memory across updates; each
// update must still be copied whole, growing or shrinking.
func TestCatalogCopyAcrossUpdates(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	for _, n := range []int{3, 5, 1, 0, 4} {
		s := Service{Namespace: "p", Name: "h", Type: Headless, Ports: []Port{{Name: "http", Port: 80}}}
		for i := range n {
			s.Endpoints = append(s.Endpoints, Endpoint{Addrs: addrs(fmt.Sprintf("10.1.0.%d", i+1), fmt.Sprintf("fd00::%d", i+1)),
				Ready: true, Ports: []EndpointPort{{Name: "http", Port: uint16(8000 + i)}}})
		}
		mustSet(t, c, s)
		got := c.Services()
		if len(got) != 1 || !equalService(&got[0], &s) {
			t.Fatalf("%d endpoints: Services() = %+v; want %+v", n, got, s)
		}
		ans, _ := c.Lookup("h.p.svc"+z, TypeA)
		if len(ans.Records) != n {
			t.Errorf("%d endpoints: %d A records; want %d", n, len(ans.Records), n)
		}
	}
}
