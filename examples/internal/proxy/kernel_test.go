package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/dnsserver"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/resolved"
)

// waitBound bounds every wait for the proxy to catch up: a safety net
// against a hung test, never an assertion about speed.
const waitBound = 20 * time.Second

const lbPool = "203.0.113.10-203.0.113.20"

// kernelWorld is a netnstest world with two web pods, their manifests and
// the proxy running on the node namespace.
type kernelWorld struct {
	w       *netnstest.World
	dir     string
	state   string
	p       *Proxy
	web     []*netnstest.Pod
	handler http.Handler
}

func servicesYAML() string {
	return `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: default}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 8080}]
`
}

func podsYAML(pods []*netnstest.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: default, labels: {app: web}}\nspec: {nodeName: n1, containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}\nstatus: {phase: Running, podIP: %s, conditions: [{type: Ready, status: \"True\"}]}\n", p.Name, p.IPv4)
	}
	return b.String()
}

func writeFile(t testing.TB, dir, name, body string) {
	t.Helper()
	tmp := filepath.Join(dir, ".tmp-"+name)
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// startWorld builds the world and starts the proxy; t.Cleanup stops it
// and checks Run's error.
func startWorld(t *testing.T) *kernelWorld {
	w := netnstest.NewWorld(t)
	k := &kernelWorld{w: w, dir: t.TempDir()}
	k.state = filepath.Join(t.TempDir(), "state", "s.json")
	if err := os.MkdirAll(filepath.Dir(k.state), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"web-1", "web-2"} {
		p := w.AddPod(t, n)
		p.Serve(t, 8080)
		k.web = append(k.web, p)
	}
	writeFile(t, k.dir, "services.yaml", servicesYAML())
	writeFile(t, k.dir, "pods.yaml", podsYAML(k.web))
	cfg := Config{
		Manifests: manifests.Config{Dir: k.dir, Debounce: 20 * time.Millisecond},
		NetNS:     w.Node.Path(), Node: "n1", StateFile: k.state,
		ClusterCIDRs: []netip.Prefix{w.PodCIDRv4, w.PodCIDRv6},
		LBPool:       []allocator.AddrRange{allocator.MustParseAddrRange(lbPool)},
		DNSListen:    netip.AddrPortFrom(w.NodeIPv4, 53).String(),
		DNS:          dnsserver.Config{NoForward: true},
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.p, k.handler = p, p.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	k.waitFor(t, "the first sync", func(st *resolved.State) bool { return st != nil && len(st.Services) == 2 })
	return k
}

// waitFor waits until the state the node agent last synced satisfies ok
// and the proxy is healthy.
func (k *kernelWorld) waitFor(t *testing.T, what string, ok func(*resolved.State) bool) *resolved.State {
	t.Helper()
	for end := time.Now().Add(waitBound); ; time.Sleep(10 * time.Millisecond) {
		st := k.p.State()
		h := k.p.Health()
		if healthy, _ := h.OK(); healthy && st != nil && h.Agent.Version >= st.Version && ok(st) {
			return st
		}
		if time.Now().After(end) {
			_, why := h.OK()
			t.Fatalf("waiting for %s: health %q", what, why)
		}
	}
}

func (k *kernelWorld) service(t *testing.T, name string) *resolved.Service {
	t.Helper()
	st := k.p.State()
	for i := range st.Services {
		if st.Services[i].Name == name {
			return st.Services[i]
		}
	}
	t.Fatalf("service %s not in the state", name)
	return nil
}

// get fetches path from the proxy's handler.
func (k *kernelWorld) get(path string) (int, string) {
	rec := httptest.NewRecorder()
	k.handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// reachesBoth asks dst from ns until both web pods have answered.
func reachesBoth(t *testing.T, ns *netnstest.NS, dst netip.AddrPort) {
	t.Helper()
	got, err := ns.Tally(context.Background(), "tcp", dst, 40)
	if err != nil {
		t.Fatalf("%s: %v (answers so far %v)", dst, err, got)
	}
	if got["web-1"] == 0 || got["web-2"] == 0 {
		t.Errorf("%s: answers %v; want both web pods", dst, got)
	}
}

func dnsQuery(t *testing.T, ns *netnstest.NS, server, name string, qtype uint16) *dns.Msg {
	t.Helper()
	var r *dns.Msg
	err := ns.Do(func() error {
		c, err := net.Dial("udp", server)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), qtype)
		co := &dns.Conn{Conn: c}
		if err := co.WriteMsg(q); err != nil {
			return err
		}
		r, err = co.ReadMsg()
		return err
	})
	if err != nil {
		t.Fatalf("DNS %s: %v", name, err)
	}
	return r
}

// TestTrafficAndDNS: the proxy programs ClusterIP, NodePort and
// LoadBalancer services into the node's kernel, and answers their names
// from inside the node's namespace.
func TestTrafficAndDNS(t *testing.T) {
	k := startWorld(t)
	web, lb := k.service(t, "web"), k.service(t, "lb")
	reachesBoth(t, k.w.Client.NS, netip.AddrPortFrom(web.ClusterIPs[0], 80))
	reachesBoth(t, k.w.External, netip.AddrPortFrom(k.w.NodeIPv4, lb.Ports[0].NodePort))
	reachesBoth(t, k.w.External, netip.AddrPortFrom(lb.LoadBalancerIPs[0], 8080))
	r := dnsQuery(t, k.w.Client.NS, k.p.DNSAddr(), "web.default.svc.cluster.local", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != web.ClusterIPs[0].String() {
		t.Errorf("DNS web.default.svc.cluster.local = %v; want %s", r.Answer, web.ClusterIPs[0])
	}
	code, body := k.get("/metrics")
	if code != 200 || !strings.Contains(body, `svcnet_dns_answers_total{outcome="NOERROR"} 1`) {
		t.Errorf("/metrics: %d, no NOERROR answer counted:\n%s", code, grepLines(body, "svcnet_dns"))
	}
	if !strings.Contains(body, `svcnet_kernel_sync_duration_seconds_count{kind="full"} `) {
		t.Errorf("/metrics: no full kernel sync observed:\n%s", grepLines(body, "svcnet_kernel"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func netipPort(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }
