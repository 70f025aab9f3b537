// Package coredns compares svcnet's DNS answers with CoreDNS 1.15's
// kubernetes plugin on the same generated Services, EndpointSlices and
// Pods. See README.md for the figures and the differences.
package coredns

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/kubernetes"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/dnsserver"
	api "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	meta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// corefile is kubeadm's kubernetes stanza.
const corefile = `kubernetes cluster.local in-addr.arpa ip6.arpa {
	pods insecure
	fallthrough in-addr.arpa ip6.arpa
	ttl 30
}`

// world is one generated cluster: its objects, and the svcnet services
// and pods converted from them as an embedder would.
type world struct {
	objs     []runtime.Object
	services []dnsname.Service
	queries  []question
}

type question struct {
	name  string
	qtype uint16
}

var namespaces = []string{"default", "prod", "kube-system"}

// generate makes n services of every kind over the namespaces, with
// endpoint slices (ready and not, hostnames, shared port numbers on UDP
// and TCP) and pods, and the questions to ask about them.
func generate(rng *rand.Rand, n int) *world {
	w := &world{}
	for _, ns := range namespaces {
		w.objs = append(w.objs, &api.Namespace{ObjectMeta: meta.ObjectMeta{Name: ns}})
	}
	ip := 0
	next := func() string { ip++; return fmt.Sprintf("10.%d.%d.%d", 1+ip/65536, ip/256%256, ip%256) }
	for i := range n {
		ns := namespaces[i%len(namespaces)]
		name := fmt.Sprintf("s%d", i)
		ports := randomPorts(rng)
		svc := &api.Service{ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name}, Spec: api.ServiceSpec{Ports: ports}}
		ds := dnsname.Service{Namespace: ns, Name: name}
		for _, p := range ports {
			proto, _ := dnsname.ParseProtocol(string(p.Protocol))
			ds.Ports = append(ds.Ports, dnsname.Port{Name: p.Name, Protocol: proto, Port: uint16(p.Port)})
		}
		switch k := rng.IntN(10); {
		case k < 5:
			svc.Spec.Type = api.ServiceTypeClusterIP
			svc.Spec.ClusterIPs = []string{fmt.Sprintf("10.96.%d.%d", i/256, i%256)}
			if k == 0 {
				svc.Spec.ClusterIPs = append(svc.Spec.ClusterIPs, fmt.Sprintf("fd00::96:%x", i))
			}
			svc.Spec.ClusterIP = svc.Spec.ClusterIPs[0]
			for _, a := range svc.Spec.ClusterIPs {
				ds.ClusterIPs = append(ds.ClusterIPs, netip.MustParseAddr(a))
			}
		case k < 9:
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = api.ClusterIPNone, []string{api.ClusterIPNone}
			ds.Type = dnsname.Headless
		default:
			svc.Spec.Type = api.ServiceTypeExternalName
			svc.Spec.ExternalName = fmt.Sprintf("ext%d.example.com", i)
			ds.Type, ds.ExternalName = dnsname.ExternalName, svc.Spec.ExternalName
		}
		w.objs = append(w.objs, svc)
		if ds.Type != dnsname.ExternalName {
			slice, eps := randomSlice(rng, ns, name, ports, next)
			w.objs = append(w.objs, slice)
			if ds.Type == dnsname.Headless {
				ds.Endpoints = eps
			}
			for _, e := range eps {
				w.objs = append(w.objs, &api.Pod{ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: e.PodName},
					Status: api.PodStatus{PodIPs: []api.PodIP{{IP: e.Addrs[0].String()}}}})
			}
		}
		w.services = append(w.services, ds)
		w.queries = append(w.queries, questionsFor(svc, &ds)...)
	}
	w.queries = append(w.queries, fixedQuestions()...)
	return w
}

func randomPorts(rng *rand.Rand) []api.ServicePort {
	switch rng.IntN(4) {
	case 0:
		return []api.ServicePort{{Port: 80, Protocol: api.ProtocolTCP}}
	case 1:
		return []api.ServicePort{{Name: "http", Port: 80, Protocol: api.ProtocolTCP}, {Name: "metrics", Port: 9100, Protocol: api.ProtocolTCP}}
	case 2: // the same number on UDP and TCP, as kube-dns
		return []api.ServicePort{{Name: "dns", Port: 53, Protocol: api.ProtocolUDP}, {Name: "dns-tcp", Port: 53, Protocol: api.ProtocolTCP}}
	}
	return []api.ServicePort{{Name: "web", Port: 8080, Protocol: api.ProtocolTCP}}
}

// randomSlice returns an EndpointSlice of 0–4 endpoints for a service and
// the same endpoints as svcnet's dnsname takes them.
func randomSlice(rng *rand.Rand, ns, svc string, ports []api.ServicePort, next func() string) (*discovery.EndpointSlice, []dnsname.Endpoint) {
	s := &discovery.EndpointSlice{
		ObjectMeta:  meta.ObjectMeta{Namespace: ns, Name: svc + "-abcde", Labels: map[string]string{discovery.LabelServiceName: svc}},
		AddressType: discovery.AddressTypeIPv4,
	}
	var dports []dnsname.EndpointPort
	for _, p := range ports {
		name, proto, port := p.Name, p.Protocol, p.Port
		s.Ports = append(s.Ports, discovery.EndpointPort{Name: &name, Protocol: &proto, Port: &port})
		dp, _ := dnsname.ParseProtocol(string(proto))
		dports = append(dports, dnsname.EndpointPort{Name: name, Protocol: dp, Port: uint16(port)})
	}
	var eps []dnsname.Endpoint
	for j := range rng.IntN(5) {
		addr := next()
		ready := rng.IntN(4) != 0
		pod := fmt.Sprintf("%s-%d", svc, j)
		e := discovery.Endpoint{Addresses: []string{addr}, Conditions: discovery.EndpointConditions{Ready: &ready},
			TargetRef: &api.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod}}
		de := dnsname.Endpoint{Addrs: []netip.Addr{netip.MustParseAddr(addr)}, Ready: ready, PodName: pod, Ports: dports}
		if rng.IntN(3) == 0 {
			h := fmt.Sprintf("h%d", j)
			e.Hostname, de.Hostname = &h, h
		}
		s.Endpoints = append(s.Endpoints, e)
		eps = append(eps, de)
	}
	return s, eps
}

// questionsFor lists what a client asks about one service.
func questionsFor(svc *api.Service, ds *dnsname.Service) []question {
	base := ds.Name + "." + ds.Namespace + ".svc.cluster.local."
	var qs []question
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeTXT, dns.TypeANY, dns.TypeCNAME} {
		qs = append(qs, question{base, t})
	}
	qs = append(qs, question{"_tcp." + base, dns.TypeSRV}, question{"_udp." + base, dns.TypeSRV})
	for _, p := range svc.Spec.Ports {
		if p.Name != "" {
			qs = append(qs, question{"_" + p.Name + "._" + strings.ToLower(string(p.Protocol)) + "." + base, dns.TypeSRV})
		}
	}
	for _, a := range ds.ClusterIPs {
		r, _ := dns.ReverseAddr(a.String())
		qs = append(qs, question{r, dns.TypePTR})
	}
	for _, e := range ds.Endpoints {
		label := e.Hostname
		if label == "" {
			label = dnsname.DashedAddr(e.Addrs[0])
		}
		r, _ := dns.ReverseAddr(e.Addrs[0].String())
		qs = append(qs, question{label + "." + base, dns.TypeA}, question{r, dns.TypePTR},
			question{dnsname.DashedAddr(e.Addrs[0]) + "." + ds.Namespace + ".pod.cluster.local.", dns.TypeA})
	}
	return qs
}

// fixedQuestions are the zone's own names and its empty non-terminals.
func fixedQuestions() []question {
	var qs []question
	for _, n := range []string{"cluster.local.", "svc.cluster.local.", "pod.cluster.local.", "prod.svc.cluster.local.",
		"nope.svc.cluster.local.", "prod.pod.cluster.local.", "nope.pod.cluster.local.", "dns-version.cluster.local.",
		"10.in-addr.arpa.", "96.10.in-addr.arpa.", "0.96.10.in-addr.arpa.", "in-addr.arpa.", "9.9.9.9.in-addr.arpa.",
		"x.y.prod.svc.cluster.local.", "nope.prod.svc.cluster.local."} {
		qs = append(qs, question{n, dns.TypeA}, question{n, dns.TypePTR}, question{n, dns.TypeTXT})
	}
	return qs
}

// answer is what the comparison looks at: the rcode and the answer
// section, TTLs included, sorted.
type answer struct {
	rcode   string
	records []string
}

func (a answer) String() string { return a.rcode + " " + strings.Join(a.records, " | ") }

func summarize(m *dns.Msg) answer {
	a := answer{rcode: dns.RcodeToString[m.Rcode]}
	if m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0 {
		a.rcode = "NODATA"
	}
	for _, rr := range m.Answer {
		a.records = append(a.records, strings.ReplaceAll(strings.ToLower(rr.String()), "\t", " "))
	}
	sort.Strings(a.records)
	return a
}

// TestDifferential asks both servers every question about generated
// clusters and reports agreement. Run it with -v to see the figures and
// every difference, grouped by class.
func TestDifferential(t *testing.T) {
	c := caddy.NewTestController("dns", corefile)
	c.Next() // the directive's name, as CoreDNS's setup reads it
	k, err := kubernetes.ParseStanza(c)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(k.Zones) != "[cluster.local. in-addr.arpa. ip6.arpa.]" {
		t.Fatalf("zones %v; want kubeadm's", k.Zones)
	}
	// The next plugin after fallthrough stands for kubeadm's forward.
	k.Next = plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeRefused)
		w.WriteMsg(m)
		return dns.RcodeRefused, nil
	})
	agree, total := 0, 0
	classes := map[string][]string{}
	for seed := range uint64(5) {
		w := generate(rand.New(rand.NewPCG(seed, 16)), 60)
		ctl := newController(t, fake.NewSimpleClientset(w.objs...))
		if len(ctl.svcs) != len(w.services) || len(ctl.ns) != len(namespaces) {
			t.Fatalf("the fake clientset lists %d services and %d namespaces; want %d and %d", len(ctl.svcs), len(ctl.ns), len(w.services), len(namespaces))
		}
		k.APIConn = ctl
		cat := dnsname.NewCatalog(dnsname.CatalogOptions{TTL: 30 * time.Second, PodRecords: dnsname.PodsInsecure})
		if err := cat.Replace(w.services); err != nil {
			t.Fatal(err)
		}
		srv, err := dnsserver.New(cat, dnsserver.Config{NoForward: true})
		if err != nil {
			t.Fatal(err)
		}
		srv.SetReady()
		pc, l, err := dnsserver.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- srv.Serve(ctx, pc, l) }()
		client := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
		for _, q := range w.queries {
			req := new(dns.Msg)
			req.SetQuestion(q.name, q.qtype)
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			if _, err := k.ServeDNS(context.Background(), rec, req); err != nil && rec.Msg == nil {
				t.Fatalf("CoreDNS %s %s: %v", q.name, dns.TypeToString[q.qtype], err)
			}
			ours, _, err := client.Exchange(req, pc.LocalAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			theirs, got := summarize(rec.Msg), summarize(ours)
			total++
			if theirs.String() == got.String() {
				agree++
				continue
			}
			c := classify(q, theirs, got)
			classes[c] = append(classes[c], fmt.Sprintf("%s %s: CoreDNS %v; svcnet %v", q.name, dns.TypeToString[q.qtype], theirs, got))
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("CoreDNS 1.15.0 vs svcnet: %d of %d answers agree", agree, total)
	keys := make([]string, 0, len(classes))
	for c := range classes {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	for _, c := range keys {
		t.Logf("%s: %d", c, len(classes[c]))
		show := 3
		if strings.HasPrefix(c, "unclassified") {
			show = 40
		}
		for _, d := range classes[c][:min(show, len(classes[c]))] {
			t.Logf("    %s", d)
		}
		if strings.HasPrefix(c, "unclassified") {
			t.Errorf("%d unclassified differences", len(classes[c]))
		}
	}
}

// sameBut reports whether a and b list the same records once field i
// (counting from 0: name, TTL, class, type, then the data) is left out.
func sameBut(a, b answer, i int) bool {
	strip := func(rs []string) string {
		out := make([]string, len(rs))
		for j, r := range rs {
			f := strings.Fields(r)
			if len(f) > i {
				f = append(f[:i:i], f[i+1:]...)
			}
			out[j] = strings.Join(f, " ")
		}
		sort.Strings(out)
		return strings.Join(out, "|")
	}
	return len(a.records) == len(b.records) && strip(a.records) == strip(b.records)
}

// classify names the class of one difference, as README.md explains
// them; anything not recognised is "unclassified" and fails the test.
func classify(q question, theirs, ours answer) string {
	switch {
	case q.qtype == dns.TypeANY && theirs.rcode == "NODATA" && ours.rcode == "NOERROR":
		return "deliberate: ANY answers one RRset (RFC 8482) where CoreDNS says NODATA"
	case theirs.rcode == "NODATA" && len(ours.records) == 1 && strings.Contains(ours.records[0], " in cname "):
		return "harness: ExternalName CNAME not chased (CoreDNS's upstream lookup of the target has no server here)"
	case q.name == "dns-version.cluster.local." && q.qtype == dns.TypeTXT && sameBut(theirs, ours, 1):
		return "CoreDNS quirk: dns-version TXT has TTL 28800 whatever the ttl option; svcnet uses the records' TTL"
	case theirs.rcode == "REFUSED" && ours.rcode == "NODATA" && strings.HasSuffix(q.name, ".arpa."):
		return "deliberate: reverse empty non-terminal is NODATA (RFC 8020); CoreDNS falls through to forward"
	case q.qtype == dns.TypeSRV && theirs.rcode == ours.rcode && sameBut(theirs, ours, 5):
		return "CoreDNS quirk: SRV weights count each cluster IP of a dual-stack service (same ratios)"
	case theirs.rcode == "NXDOMAIN" && ours.rcode == "NODATA":
		return "deliberate: a name that exists (other types, or names below it) is NODATA, not NXDOMAIN (RFC 8020 §2)"
	case theirs.rcode == "NODATA" && ours.rcode == "NXDOMAIN" && strings.Contains(q.name, ".pod."):
		return "deliberate: pod subtree without pod names is NXDOMAIN (RFC 8020)"
	}
	return "unclassified"
}
