package node

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/vishvananda/netns"
)

// TestDNSQueries asks a real server, over UDP and TCP on loopback, what
// the testdata manifests publish.
func TestDNSQueries(t *testing.T) {
	requireLoopback(t)
	p, err := New(Config{Manifests: "testdata/manifests", StateFile: t.TempDir() + "/state.json",
		ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16"), netip.MustParsePrefix("fd00:96::/112")}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	views, problems, err := p.Build()
	if err != nil || len(problems) != 0 {
		t.Fatalf("Build: %v %v", problems, err)
	}
	v := byName(views)
	ns, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	m := NewMetrics()
	srv, err := ListenDNS(ns, "127.0.0.1:0", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	zone := NewZone("cluster.local", 5, dnsname.PodsVerified)
	if errs := zone.Update(views, p.pods); len(errs) > 0 {
		t.Fatal(errs)
	}
	srv.SetZone(zone)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	myIP := v["my-service"].ClusterIPs[0].String()
	rev, _ := dns.ReverseAddr(myIP)
	tests := []struct {
		name  string
		qname string
		qtype uint16
		rcode int
		want  []string // answer data, sorted
		extra int
	}{
		{"A", "my-service.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{myIP}, 0},
		{"A mixed case", "My-Service.Default.SVC.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{myIP}, 0},
		{"AAAA NODATA single-stack", "my-service.default.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, nil, 0},
		{"SRV named port", "_http._tcp.web.shop.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, []string{"0 100 80 web.shop.svc.cluster.local."}, 1},
		{"SRV unnamed port NXDOMAIN", "_tcp.my-service.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeNameError, nil, 0},
		{"PTR", rev, dns.TypePTR, dns.RcodeSuccess, []string{"my-service.default.svc.cluster.local."}, 0},
		{"headless A", "db.shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"10.244.0.31"}, 0},
		{"headless hostname", "db-0.db.shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"10.244.0.31"}, 0},
		{"headless SRV", "_pg._tcp.db.shop.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, []string{"0 100 5432 db-0.db.shop.svc.cluster.local."}, 1},
		{"headless PTR", "31.0.244.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"db-0.db.shop.svc.cluster.local."}, 0},
		{"ExternalName CNAME", "search.shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"search.example.com."}, 0},
		{"selectorless service", "legacy.shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{v["legacy"].ClusterIPs[0].String()}, 0},
		{"NXDOMAIN", "nope.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, 0},
		{"empty non-terminal NODATA", "shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, nil, 0},
		{"outside zone REFUSED", "example.com.", dns.TypeA, dns.RcodeRefused, nil, 0},
		{"pod verified", "10-244-0-21.shop.pod.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"10.244.0.21"}, 0},
		{"pod of another namespace", "10-244-0-21.default.pod.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, 0},
		{"pod unknown", "10-244-9-9.shop.pod.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, 0},
		{"schema version", "dns-version.cluster.local.", dns.TypeTXT, dns.RcodeSuccess, []string{`"1.1.0"`}, 0},
	}
	for _, netw := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: netw}
		for _, tt := range tests {
			t.Run(netw+"/"+tt.name, func(t *testing.T) {
				q := new(dns.Msg)
				q.SetQuestion(tt.qname, tt.qtype)
				r, _, err := c.Exchange(q, srv.Addr())
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, rr := range r.Answer {
					f := strings.SplitN(rr.String(), "\t", 5)
					got = append(got, f[len(f)-1])
				}
				sort.Strings(got)
				if r.Rcode != tt.rcode || strings.Join(got, ",") != strings.Join(tt.want, ",") || len(r.Extra) != tt.extra {
					t.Errorf("query %s %s = %s %q (+%d extra); want %s %q (+%d)", tt.qname, dns.TypeToString[tt.qtype],
						dns.RcodeToString[r.Rcode], got, len(r.Extra), dns.RcodeToString[tt.rcode], tt.want, tt.extra)
				}
				if (tt.rcode == dns.RcodeNameError || tt.rcode == dns.RcodeSuccess && len(tt.want) == 0) && (len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA) {
					t.Errorf("negative answer authority = %v; want the SOA", r.Ns)
				}
			})
		}
	}
}

// TestHeadlessSRVPortPerEndpoint: a named targetPort that pods map to
// different numbers lands them in different endpoint groups, and each
// endpoint's SRV record carries its own port, as CoreDNS answers from
// EndpointSlices.
func TestHeadlessSRVPortPerEndpoint(t *testing.T) {
	dir := t.TempDir()
	pod := func(name, ip string, port int) string {
		return fmt.Sprintf(`---
apiVersion: v1
kind: Pod
metadata: {name: %s, labels: {app: db}}
spec:
  containers: [{name: db, ports: [{name: pg, containerPort: %d}]}]
status:
  phase: Running
  podIP: %s
  conditions: [{type: Ready, status: "True"}]
`, name, port, ip)
	}
	writeManifest(t, dir, "a.yaml", svcYAML("db", "spec:\n  clusterIP: None\n  selector: {app: db}\n  ports: [{name: pg, port: 5432, targetPort: pg}]\n")+
		pod("db-a", "10.244.0.41", 5432)+pod("db-b", "10.244.0.42", 6432))
	p := newTestProxy(t, dir, "")
	views, problems, err := p.Build()
	if err != nil || len(problems) > 0 {
		t.Fatalf("Build: %v %v", problems, err)
	}
	zone := NewZone("cluster.local", 5, dnsname.PodsDisabled)
	if errs := zone.Update(views, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	req := new(dns.Msg)
	req.SetQuestion("_pg._tcp.db.default.svc.cluster.local.", dns.TypeSRV)
	var m dns.Msg
	if res := zone.Answer(req, &m); res != ResultNoError {
		t.Fatalf("SRV answer = %s", res)
	}
	var got []string
	for _, rr := range m.Answer {
		srv := rr.(*dns.SRV)
		got = append(got, fmt.Sprintf("%d %s", srv.Port, srv.Target))
	}
	sort.Strings(got)
	want := []string{"5432 10-244-0-41.db.default.svc.cluster.local.", "6432 10-244-0-42.db.default.svc.cluster.local."}
	if !slices.Equal(got, want) {
		t.Errorf("SRV records = %q; want %q", got, want)
	}
}

// requireLoopback skips the test where loopback is down (a fresh network
// namespace, as `unshare -rn` makes), and fails it in CI, where it must run.
func requireLoopback(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err == nil {
		var c net.Conn
		if c, err = net.Dial("tcp", l.Addr().String()); err == nil {
			c.Close()
		}
		l.Close()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("loopback unusable in CI: %v", err)
		}
		t.Skipf("loopback unusable here (a new network namespace without lo up?): %v", err)
	}
}
