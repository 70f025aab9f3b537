package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/svcnet/svcnet/examples/internal/world"
)

// TestMain moves the whole test binary into private namespaces (see
// world.Enter). Kernel tests fail rather than skip when CI is set.
func TestMain(m *testing.M) { world.RunTests(m) }

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestDemo runs the demo itself: every step checks what it prints.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, &out, testWriter{t}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"1. my-service was given ClusterIP 10.96.", "2. DNS from the client: my-service.default.svc.cluster.local. A 10.96.",
		"3. 30 requests", "4. sessionAffinity: ClientIP", "5. from the outside host, NodePort", "6. from the outside host, LoadBalancer", "7. pod3 removed", "cleaned up"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

func startEnv(t *testing.T, pods ...string) (*Env, context.Context) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	env, err := Start(ctx, testLog(t), pods...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return env, ctx
}

// waitFor polls cond: a bound against a hung test, not a speed assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (e *Env) clusterIP(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	s, ok := e.Service(name)
	if !ok || len(s.ClusterIPs) == 0 {
		t.Fatalf("service %s has no ClusterIP", name)
	}
	return netip.AddrPortFrom(s.ClusterIPs[0], s.Ports[0].Port)
}

func TestScaling(t *testing.T) {
	env, ctx := startEnv(t, "pod1", "pod2", "pod3", "pod4")
	w := env.World
	dst := env.clusterIP(t, "my-service")
	for _, pods := range [][]string{{"pod1"}, {"pod1", "pod2", "pod3", "pod4"}, {"pod2", "pod4"}} {
		if err := env.WriteManifest("pods.yaml", PodsYAML(w, pods)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("%d endpoints", len(pods)), func() bool {
			v, _ := env.Service("my-service")
			return endpointsCount(v) == len(pods)
		})
		counts, err := Spread(ctx, w.Client.NS, dst, 40)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"pod1", "pod2", "pod3", "pod4"} {
			if want := contains(pods, p); (counts[p] > 0) != want {
				t.Errorf("pods %v: %s answered %d of 40; want answers %v", pods, p, counts[p], want)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestDeleteService(t *testing.T) {
	env, ctx := startEnv(t, "pod1")
	w := env.World
	dst := env.clusterIP(t, "sticky")
	if _, err := w.Client.NS.Ask(ctx, "tcp", dst); err != nil {
		t.Fatalf("sticky before deletion: %v", err)
	}
	without := ServicesYAML[:strings.Index(ServicesYAML, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: sticky")] +
		ServicesYAML[strings.Index(ServicesYAML, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web"):]
	if err := env.WriteManifest("services.yaml", without); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sticky deleted", func() bool { _, ok := env.Service("sticky"); return !ok })
	if r, err := w.Client.NS.Ask(ctx, "tcp", dst); err == nil {
		t.Errorf("%s after deleting the service answered %+v; want a failure", dst, r)
	}
	r, err := Query(w.Client.NS, env.Proxy.DNSAddr(), "sticky.default.svc.cluster.local", dns.TypeA)
	if err != nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("DNS sticky after deletion = %v, %v; want NXDOMAIN", r, err)
	}
	if _, err := w.Client.NS.Ask(ctx, "tcp", env.clusterIP(t, "my-service")); err != nil {
		t.Errorf("my-service after deleting sticky: %v", err)
	}
}

// TestRestartKeepsAddressesAndConnections: a restarted proxy gives every
// service the same addresses (from the state file) and adopts the rules,
// so a flow opened before the restart goes on to the same pod.
func TestRestartKeepsAddressesAndConnections(t *testing.T) {
	env, ctx := startEnv(t, "pod1", "pod2")
	udp := "apiVersion: v1\nkind: Service\nmetadata: {name: udp}\nspec:\n  selector: {app: my-app}\n  ports: [{protocol: UDP, port: 80}]\n"
	if err := env.WriteManifest("udp.yaml", udp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the UDP service", func() bool { _, ok := env.Service("udp"); return ok })
	before := env.Synced()
	flow := env.World.Client.NS.DialUDP(t, env.clusterIP(t, "udp"))
	first, err := flow.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.StopProxy(); err != nil {
		t.Fatal(err)
	}
	if err := env.StartProxy(ctx); err != nil {
		t.Fatal(err)
	}
	after := env.Synced()
	if len(after.Services) != len(before.Services) {
		t.Fatalf("after restart %d services; want %d", len(after.Services), len(before.Services))
	}
	for i := range before.Services {
		b, a := before.Services[i], after.Services[i]
		if fmt.Sprint(b.ClusterIPs, b.Ports, b.LoadBalancerIPs) != fmt.Sprint(a.ClusterIPs, a.Ports, a.LoadBalancerIPs) {
			t.Errorf("service %s after restart = %v %v %v; want %v %v %v", a.Name, a.ClusterIPs, a.Ports, a.LoadBalancerIPs, b.ClusterIPs, b.Ports, b.LoadBalancerIPs)
		}
	}
	if again, err := flow.Ask(ctx); err != nil || again.Backend != first.Backend {
		t.Errorf("the flow opened before the restart answered %+v, %v; want %s", again, err, first.Backend)
	}
}

// TestMalformedManifestKeepsState: a malformed document and an invalid
// pod are refused (and counted), and everything that was served still is.
func TestMalformedManifestKeepsState(t *testing.T) {
	env, ctx := startEnv(t, "pod1", "pod2")
	w := env.World
	before := fmt.Sprint(env.Synced().Services)
	if err := env.WriteManifest("services.yaml", ServicesYAML+"---\napiVersion: v1\nkind: Service\nmetadata: {name: [\n"); err != nil {
		t.Fatal(err)
	}
	if err := env.WriteManifest("broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: pod9}\nstatus: {podIP: not-an-ip}\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "manifest errors counted", func() bool {
		rec := httptest.NewRecorder()
		env.Proxy.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return strings.Contains(string(b), "svcnet_manifest_errors_total 2\n")
	})
	if after := fmt.Sprint(env.Synced().Services); after != before {
		t.Errorf("services after a malformed manifest = %s; want unchanged %s", after, before)
	}
	counts, err := Spread(ctx, w.Client.NS, env.clusterIP(t, "my-service"), 20)
	if err != nil || counts["pod1"] == 0 || counts["pod2"] == 0 {
		t.Errorf("traffic after a malformed manifest: %v, %v; want both pods", counts, err)
	}
	r, err := Query(w.Client.NS, env.Proxy.DNSAddr(), "my-service.default.svc.cluster.local", dns.TypeA)
	if err != nil || len(r.Answer) != 1 {
		t.Errorf("DNS after a malformed manifest: %v, %v; want an answer", r, err)
	}
}

func TestDNSOverTheWire(t *testing.T) {
	env, _ := startEnv(t, "pod1", "pod2")
	w := env.World
	extra := `---
apiVersion: v1
kind: Service
metadata:
  name: headless
spec:
  clusterIP: None
  selector:
    app: my-app
  ports:
    - name: http
      port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: docs
spec:
  type: ExternalName
  externalName: docs.example.com
`
	if err := env.WriteManifest("extra.yaml", extra); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new services", func() bool { _, ok := env.Service("docs"); return ok })
	my, _ := env.Service("my-service")
	rev, _ := dns.ReverseAddr(my.ClusterIPs[0].String())
	ip1, ip2 := w.Pods["pod1"].IPv4.String(), w.Pods["pod2"].IPv4.String()
	dash := func(ip string) string { return strings.ReplaceAll(ip, ".", "-") }
	tests := []struct {
		name  string
		qname string
		qtype uint16
		rcode int
		want  string // joined answer data, sorted
	}{
		{"A", "my-service.default.svc.cluster.local", dns.TypeA, dns.RcodeSuccess, my.ClusterIPs[0].String()},
		{"AAAA NODATA", "my-service.default.svc.cluster.local", dns.TypeAAAA, dns.RcodeSuccess, ""},
		{"SRV", "_http._tcp.web.default.svc.cluster.local", dns.TypeSRV, dns.RcodeSuccess, "0 100 80 web.default.svc.cluster.local."},
		{"PTR", rev, dns.TypePTR, dns.RcodeSuccess, "my-service.default.svc.cluster.local."},
		{"headless A", "headless.default.svc.cluster.local", dns.TypeA, dns.RcodeSuccess, ip1 + "," + ip2},
		// CoreDNS splits the weight of 100 evenly over the records of one name.
		{"headless SRV", "_http._tcp.headless.default.svc.cluster.local", dns.TypeSRV, dns.RcodeSuccess,
			"0 50 80 " + dash(ip1) + ".headless.default.svc.cluster.local.,0 50 80 " + dash(ip2) + ".headless.default.svc.cluster.local."},
		{"ExternalName CNAME", "docs.default.svc.cluster.local", dns.TypeA, dns.RcodeSuccess, "docs.example.com."},
		{"NXDOMAIN", "missing.default.svc.cluster.local", dns.TypeA, dns.RcodeNameError, ""},
		{"NODATA empty non-terminal", "default.svc.cluster.local", dns.TypeA, dns.RcodeSuccess, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Query(w.Client.NS, env.Proxy.DNSAddr(), tt.qname, tt.qtype)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rr := range r.Answer {
				f := strings.SplitN(rr.String(), "\t", 5)
				got = append(got, f[len(f)-1])
			}
			sort.Strings(got)
			if r.Rcode != tt.rcode || strings.Join(got, ",") != tt.want {
				t.Errorf("%s %s = %s %q; want %s %q", tt.qname, dns.TypeToString[tt.qtype], dns.RcodeToString[r.Rcode], got, dns.RcodeToString[tt.rcode], tt.want)
			}
		})
	}
}
