package dataplane

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden .nft files in testdata")

func ep(s string) Endpoint { return Endpoint{Addr: netip.MustParseAddrPort(s)} }

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// web is a dual-stack NodePort service with n IPv4 endpoints and one IPv6
// one; the first IPv4 endpoint and the IPv6 one are on this node.
func web(n int) ServicePort {
	sp := ServicePort{Namespace: "default", Name: "web", PortName: "http", Protocol: TCP, Port: 80, NodePort: 30080,
		ClusterIPs: addrs("10.96.0.10", "fd00:96::10")}
	for i := range n {
		sp.Endpoints = append(sp.Endpoints, ep(fmt.Sprintf("10.244.%d.2:8080", i+1)))
	}
	sp.Endpoints = append(sp.Endpoints, ep("[fd00:244:1::2]:8080"))
	sp.LocalEndpoints = []Endpoint{sp.Endpoints[0], sp.Endpoints[n]}
	return sp
}

func dns() ServicePort {
	return ServicePort{Namespace: "kube-system", Name: "dns", PortName: "dns", Protocol: UDP, Port: 53,
		ClusterIPs:     addrs("10.96.0.53"),
		Endpoints:      []Endpoint{ep("10.244.1.53:53"), ep("10.244.2.53:53")},
		LocalEndpoints: []Endpoint{ep("10.244.1.53:53")}}
}

func local() ServicePort {
	return ServicePort{Namespace: "default", Name: "lb", PortName: "https", Protocol: TCP, Port: 443, NodePort: 30443,
		ClusterIPs: addrs("10.96.0.44"), LoadBalancerIPs: addrs("192.0.2.10"), ExternalIPs: addrs("198.51.100.7"),
		LoadBalancerSourceRanges: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		ExternalPolicy:           PolicyLocal,
		Endpoints:                []Endpoint{ep("10.244.1.4:8443"), ep("10.244.2.4:8443")},
		LocalEndpoints:           []Endpoint{ep("10.244.1.4:8443")}}
}

type goldenCase struct {
	name string
	opts Options
	svcs []ServicePort
}

func goldenCases() []goldenCase {
	cidrs := []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:244::/48")}
	weighted := web(3)
	weighted.Balancing = Weighted
	weighted.Endpoints[0].Weight, weighted.Endpoints[1].Weight, weighted.Endpoints[2].Weight = 2, 4, 6
	noLocal := local()
	noLocal.Endpoints, noLocal.LocalEndpoints = noLocal.Endpoints[1:], nil
	internalLocal := dns()
	internalLocal.InternalPolicy = PolicyLocal
	maglev := web(3)
	maglev.Balancing, maglev.MaglevSize = Maglev, 7
	maglevPort := dns()
	maglevPort.Balancing, maglevPort.MaglevSize, maglevPort.HashSourcePort = Maglev, 5, true
	affinity := web(2)
	affinity.AffinityTimeout = 3 * time.Hour
	return []goldenCase{
		{"empty", Options{}, nil},
		{"clusterip", Options{ClusterCIDRs: cidrs, ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}}, []ServicePort{dns()}},
		{"dualstack-nodeport", Options{ClusterCIDRs: cidrs}, []ServicePort{web(3)}},
		{"node-addresses", Options{Table: "node", NodeAddresses: addrs("172.18.0.2", "fc00::2")}, []ServicePort{web(1)}},
		{"loadbalancer-local", Options{ClusterCIDRs: cidrs}, []ServicePort{local()}},
		{"local-no-local-endpoint", Options{ClusterCIDRs: cidrs}, []ServicePort{noLocal}},
		{"internal-local", Options{}, []ServicePort{internalLocal}},
		{"no-endpoints", Options{}, []ServicePort{{Namespace: "a", Name: "empty", Protocol: SCTP, Port: 9, NodePort: 30009, ClusterIPs: addrs("10.96.0.9")}}},
		{"weighted", Options{}, []ServicePort{weighted}},
		{"affinity", Options{ClusterCIDRs: cidrs}, []ServicePort{affinity, dns()}},
		{"maglev", Options{ClusterCIDRs: cidrs}, []ServicePort{maglev, maglevPort}},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.opts, tc.svcs)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			path := filepath.Join("testdata", tc.name+".nft")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("Render(%s) differs from %s; run go test -run TestGolden -update and review the diff\ngot:\n%s", tc.name, path, got)
			}
		})
	}
}
