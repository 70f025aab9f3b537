package dnsname

import "testing"

func TestParse(t *testing.T) {

	tests := []struct {
		name string
		in   string
		zone string
		want Name
	}{
		{"service", "api.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindService, Service: "api", Namespace: "prod"}},
		{"service no dot", "api.prod.svc.cluster.local", "cluster.local.", Name{Kind: KindService, Service: "api", Namespace: "prod"}},
		{"service upper", "API.Prod.SVC.Cluster.Local.", "cluster.local", Name{Kind: KindService, Service: "api", Namespace: "prod"}},
		{"service upper zone", "api.prod.svc.cluster.local.", "CLUSTER.local", Name{Kind: KindService, Service: "api", Namespace: "prod"}},
		{"default zone", "api.prod.svc.cluster.local.", "", Name{Kind: KindService, Service: "api", Namespace: "prod"}},
		{"other zone", "api.prod.svc.example.org.", "example.org", Name{Kind: KindService, Service: "api", Namespace: "prod"}},
		{"srv", "_http._tcp.api.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindSRV, Port: "http", Proto: TCP, Service: "api", Namespace: "prod"}},
		{"srv upper", "_HTTP._TCP.api.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindSRV, Port: "http", Proto: TCP, Service: "api", Namespace: "prod"}},
		{"srv unknown protocol", "_http._icmp.api.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"srv udp", "_dns._UDP.api.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindSRV, Port: "dns", Proto: UDP, Service: "api", Namespace: "prod"}},
		{"srv bare underscore", "_._tcp.api.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"srv one underscore", "http._tcp.api.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"endpoint", "web-0.web.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindEndpoint, Endpoint: "web-0", Service: "web", Namespace: "prod"}},
		{"endpoint dashed", "10-3-0-2.web.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindEndpoint, Endpoint: "10-3-0-2", Service: "web", Namespace: "prod"}},
		{"endpoint underscore", "_tcp.web.prod.svc.cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"pod v4", "10-3-0-2.default.pod.cluster.local.", "cluster.local", Name{Kind: KindPod, Namespace: "default", Addr: mp("10.3.0.2")}},
		{"pod v6", "fd00--1.default.pod.cluster.local.", "cluster.local", Name{Kind: KindPod, Namespace: "default", Addr: mp("fd00::1")}},
		{"pod not addr", "web.default.pod.cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"pod too deep", "x.10-3-0-2.default.pod.cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"reverse v4", "2.0.3.10.in-addr.arpa.", "cluster.local", Name{Kind: KindReverse, Addr: mp("10.3.0.2")}},
		{"reverse v6", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "cluster.local", Name{Kind: KindReverse, Addr: mp("fd00::1")}},
		{"reverse partial", "3.10.in-addr.arpa.", "cluster.local", Name{}},
		{"version", "dns-version.cluster.local.", "cluster.local", Name{Kind: KindVersion}},
		{"version upper", "DNS-Version.cluster.local", "cluster.local", Name{Kind: KindVersion}},
		{"apex", "cluster.local.", "cluster.local", Name{Kind: KindZone}},
		{"svc node", "svc.cluster.local.", "cluster.local", Name{Kind: KindZone}},
		{"pod node", "pod.cluster.local.", "cluster.local", Name{Kind: KindZone}},
		{"pod namespace", "default.pod.cluster.local.", "cluster.local", Name{Kind: KindZone, Namespace: "default"}},
		{"namespace", "prod.svc.cluster.local.", "cluster.local", Name{Kind: KindNamespace, Namespace: "prod"}},
		{"unknown class", "a.b.cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"too deep", "a.b.c.d.e.f.svc.cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"empty label", "api..svc.cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"leading dot", ".cluster.local.", "cluster.local", Name{Kind: KindInvalid}},
		{"not ours", "example.com.", "cluster.local", Name{}},
		{"suffix not at label boundary", "api.prod.svc.xcluster.local.", "cluster.local", Name{}},
		{"empty", "", "cluster.local", Name{}},
		{"root", ".", "cluster.local", Name{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.in, tt.zone); got != tt.want {
				t.Errorf("Parse(%q, %q) = %+v; want %+v", tt.in, tt.zone, got, tt.want)
			}
		})
	}
}

func TestNameFQDNRoundTrip(t *testing.T) {
	for _, in := range []string{
		"api.prod.svc.cluster.local.",
		"_http._tcp.api.prod.svc.cluster.local.",
		"web-0.web.prod.svc.cluster.local.",
		"10-3-0-2.default.pod.cluster.local.",
		"fd00--1.default.pod.cluster.local.",
		"2.0.3.10.in-addr.arpa.",
		"dns-version.cluster.local.",
		"prod.svc.cluster.local.",
	} {
		n := Parse(in, "cluster.local")
		if got := n.FQDN("cluster.local"); got != in {
			t.Errorf("Parse(%q).FQDN() = %q; want %q", in, got, in)
		}
	}
	if got := (Name{}).FQDN(""); got != "" {
		t.Errorf("Name{}.FQDN() = %q; want \"\"", got)
	}
}

func TestKindString(t *testing.T) {
	if got := KindSRV.String(); got != "SRV" {
		t.Errorf("KindSRV.String() = %q; want SRV", got)
	}
	if got := Kind(200).String(); got != "Kind(200)" {
		t.Errorf("Kind(200).String() = %q; want Kind(200)", got)
	}
}
