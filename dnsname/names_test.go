package dnsname

import (
	"errors"
	"net/netip"
	"testing"
)

func TestNames(t *testing.T) {

	tests := []struct {
		name string
		got  string
		want string
	}{
		{"service", ServiceFQDN("api", "prod", "cluster.local"), "api.prod.svc.cluster.local."},
		{"service zone dot", ServiceFQDN("api", "prod", "example.org."), "api.prod.svc.example.org."},
		{"service default zone", ServiceFQDN("api", "prod", ""), "api.prod.svc.cluster.local."},
		{"srv", SRVName("http", TCP, "api", "prod", "cluster.local"), "_http._tcp.api.prod.svc.cluster.local."},
		{"srv udp", SRVName("dns", UDP, "kube-dns", "kube-system", "cluster.local"), "_dns._udp.kube-dns.kube-system.svc.cluster.local."},
		{"srv zero protocol", SRVName("http", Protocol(0), "api", "prod", "cluster.local"), "_http._tcp.api.prod.svc.cluster.local."},
		{"srv sctp", SRVName("x", SCTP, "api", "prod", "cluster.local"), "_x._sctp.api.prod.svc.cluster.local."},
		{"srv unknown protocol", SRVName("x", Protocol(7), "api", "prod", "cluster.local"), ""},
		{"endpoint", EndpointFQDN("web-0", "web", "prod", "cluster.local"), "web-0.web.prod.svc.cluster.local."},
		{"pod v4", PodFQDN(mp("10.3.0.2"), "default", "cluster.local"), "10-3-0-2.default.pod.cluster.local."},
		{"pod v6", PodFQDN(mp("fd00::1"), "default", "cluster.local"), "fd00--1.default.pod.cluster.local."},
		{"version", VersionName("cluster.local"), "dns-version.cluster.local."},
		{"dashed v4", DashedAddr(mp("10.3.0.2")), "10-3-0-2"},
		{"dashed v6 compressed", DashedAddr(mp("2001:db8::5")), "2001-db8--5"},
		{"dashed v6 full", DashedAddr(mp("2001:db8:1:2:3:4:5:6")), "2001-db8-1-2-3-4-5-6"},
		{"dashed v6 leading", DashedAddr(mp("::1")), "--1"},
		{"dashed v4-mapped", DashedAddr(mp("::ffff:10.0.0.1")), "10-0-0-1"},
		{"dashed zero", DashedAddr(netip.Addr{}), ""},
		{"label hostname", EndpointLabel(Endpoint{Hostname: "db-0", PodName: "db-0-x", Addrs: []netip.Addr{mp("10.0.0.1")}}, true), "db-0"},
		{"label pod name", EndpointLabel(Endpoint{PodName: "db-0-x", Addrs: []netip.Addr{mp("10.0.0.1")}}, true), "db-0-x"},
		{"label pod name off", EndpointLabel(Endpoint{PodName: "db-0-x", Addrs: []netip.Addr{mp("10.0.0.1")}}, false), "10-0-0-1"},
		{"label pod name too long", EndpointLabel(Endpoint{PodName: string(make64()), Addrs: []netip.Addr{mp("10.0.0.1")}}, true), "10-0-0-1"},
		{"label v6", EndpointLabel(Endpoint{Addrs: []netip.Addr{mp("fd00::a:1")}}, false), "fd00--a-1"},
		{"label none", EndpointLabel(Endpoint{}, false), ""},
		{"reverse v4", ReverseName(mp("10.3.0.2")), "2.0.3.10.in-addr.arpa."},
		{"reverse v4 255", ReverseName(mp("255.0.100.9")), "9.100.0.255.in-addr.arpa."},
		{"reverse v6", ReverseName(mp("2001:db8::567:89ab")), "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."},
		{"reverse zero", ReverseName(netip.Addr{}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q; want %q", tt.got, tt.want)
			}
		})
	}
}

func make64() []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = 'p'
	}
	return b
}

func TestParseDashedAddr(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means invalid
	}{
		{"10-3-0-2", "10.3.0.2"},
		{"255-255-255-255", "255.255.255.255"},
		{"256-0-0-1", ""},
		{"01-0-0-1", ""},
		{"1-2-3", ""},
		{"1-2-3-4-5", ""},
		{"a-b-c-d", ""},
		{"fd00--1", "fd00::1"},
		{"FD00--1", "fd00::1"},
		{"--1", "::1"},
		{"--", "::"},
		{"fe80--", "fe80::"},
		{"2001-db8-1-2-3-4-5-6", "2001:db8:1:2:3:4:5:6"},
		{"2001-db8-1-2-3-4-5-6-7", ""},
		{"2001-db8--1--2", ""},
		{"2001-db8-1-2-3-4-5--6", ""},
		{"12345--1", ""},
		{"fd00-", ""},
		{"", ""},
		{"-", ""},
		{"g--1", ""},
	}
	for _, tt := range tests {
		got, err := ParseDashedAddr(tt.in)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrInvalidAddr) {
				t.Errorf("ParseDashedAddr(%q) = %v, %v; want ErrInvalidAddr", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != netip.MustParseAddr(tt.want) {
			t.Errorf("ParseDashedAddr(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestParseReverse(t *testing.T) {
	v6 := "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
	tests := []struct {
		in   string
		want string // "" means invalid
	}{
		{"2.0.3.10.in-addr.arpa.", "10.3.0.2"},
		{"2.0.3.10.in-addr.arpa", "10.3.0.2"},
		{"2.0.3.10.IN-ADDR.ARPA.", "10.3.0.2"},
		{"0.3.10.in-addr.arpa.", ""},
		{"1.2.0.3.10.in-addr.arpa.", ""},
		{"256.0.3.10.in-addr.arpa.", ""},
		{"in-addr.arpa.", ""},
		{v6, "2001:db8::567:89ab"},
		{"B.A" + v6[3:], "2001:db8::567:89ab"},
		{v6[2:], ""},
		{"x" + v6[1:], ""},
		{"example.com.", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := ParseReverse(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidAddr) {
				t.Errorf("ParseReverse(%q) = %v, %v; want ErrInvalidAddr", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != netip.MustParseAddr(tt.want) {
			t.Errorf("ParseReverse(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestReverseRoundTrip(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.3.0.2", "255.255.255.255", "::", "::1", "fd00::1", "2001:db8:ffff:1:2:3:4:5"} {
		a := netip.MustParseAddr(s)
		got, err := ParseReverse(ReverseName(a))
		if err != nil || got != a {
			t.Errorf("ParseReverse(ReverseName(%v)) = %v, %v; want %v", a, got, err, a)
		}
		d, err := ParseDashedAddr(DashedAddr(a))
		if err != nil || d != a {
			t.Errorf("ParseDashedAddr(DashedAddr(%v)) = %v, %v; want %v", a, d, err, a)
		}
	}
}

func TestMappedAddrs(t *testing.T) {
	m := mp("::ffff:10.0.0.1")
	if got := ReverseName(m); got != "1.0.0.0.0.0.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa." {
		t.Errorf("ReverseName(%v) = %q; want the ip6.arpa name", m, got)
	}
	if got, err := ParseDashedAddr("--ffff-a00-1"); err != nil || got != mp("10.0.0.1") {
		t.Errorf("ParseDashedAddr(--ffff-a00-1) = %v, %v; want 10.0.0.1", got, err)
	}
}
