package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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

// waitFor polls cond for up to 3 s; the watcher's debounce is 250 ms.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestScaling(t *testing.T) {
	env, ctx := startEnv(t, "pod1", "pod2", "pod3", "pod4")
	w := env.World
	if err := env.WriteManifest("pods.yaml", PodsYAML(w, []string{"pod1"})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one endpoint", func() bool { v, _ := env.Service("my-service"); return endpointsCount(v) == 1 })
	v, _ := env.Service("my-service")
	url := fmt.Sprintf("http://%s/", v.ClusterIPs[0])
	for _, step := range []struct {
		pods []string
	}{{[]string{"pod1"}}, {[]string{"pod1", "pod2", "pod3", "pod4"}}, {[]string{"pod2", "pod4"}}} {
		if err := env.WriteManifest("pods.yaml", PodsYAML(w, step.pods)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("%d endpoints", len(step.pods)), func() bool {
			v, _ := env.Service("my-service")
			return endpointsCount(v) == len(step.pods)
		})
		counts, err := Spread(ctx, w.Client, url, 40)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"pod1", "pod2", "pod3", "pod4"} {
			want := contains(step.pods, p)
			if (counts[p] > 0) != want {
				t.Errorf("pods %v: %s answered %d of 40; want answers %v", step.pods, p, counts[p], want)
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
	sticky, _ := env.Service("sticky")
	url := fmt.Sprintf("http://%s/", sticky.ClusterIPs[0])
	if _, _, err := w.Client.Get(ctx, url); err != nil {
		t.Fatalf("sticky before deletion: %v", err)
	}
	without := ServicesYAML[:strings.Index(ServicesYAML, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: sticky")] +
		ServicesYAML[strings.Index(ServicesYAML, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web"):]
	if err := env.WriteManifest("services.yaml", without); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sticky deleted", func() bool { _, ok := env.Service("sticky"); return !ok })
	if _, _, err := w.Client.Get(ctx, url); err == nil {
		t.Errorf("GET %s after deleting the service succeeded; want a failure", url)
	}
	r, err := Query(w.Client, env.Proxy.DNSAddr(), "sticky.default.svc.cluster.local", dns.TypeA)
	if err != nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("DNS sticky after deletion = %v, %v; want NXDOMAIN", r, err)
	}
	my, _ := env.Service("my-service")
	if _, _, err := w.Client.Get(ctx, fmt.Sprintf("http://%s/", my.ClusterIPs[0])); err != nil {
		t.Errorf("my-service after deleting sticky: %v", err)
	}
}

func TestRestartKeepsAddressesAndConnections(t *testing.T) {
	env, ctx := startEnv(t, "pod1", "pod2")
	w := env.World
	before := env.Proxy.Services()
	my, _ := env.Service("my-service")
	conn, err := w.Client.DialContext(ctx, "tcp", net.JoinHostPort(my.ClusterIPs[0].String(), "80"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	ask := func() (string, error) {
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: my-service\r\n\r\n"); err != nil {
			return "", err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return strings.Fields(string(b))[0], err
	}
	first, err := ask()
	if err != nil {
		t.Fatal(err)
	}
	if err := env.StopProxy(); err != nil {
		t.Fatal(err)
	}
	if err := env.StartProxy(ctx, testLog(t)); err != nil {
		t.Fatal(err)
	}
	after := env.Proxy.Services()
	if len(after) != len(before) {
		t.Fatalf("after restart %d services; want %d", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if fmt.Sprint(b.ClusterIPs, b.Ports, b.LoadBalancerIPs) != fmt.Sprint(a.ClusterIPs, a.Ports, a.LoadBalancerIPs) {
			t.Errorf("service %s after restart = %v %v %v; want %v %v %v", a.Name, a.ClusterIPs, a.Ports, a.LoadBalancerIPs, b.ClusterIPs, b.Ports, b.LoadBalancerIPs)
		}
	}
	again, err := ask()
	if err != nil || again != first {
		t.Errorf("the connection opened before the restart answered %q, %v; want %q on the same connection", again, err, first)
	}
}

func TestMalformedManifestKeepsState(t *testing.T) {
	env, ctx := startEnv(t, "pod1", "pod2")
	w := env.World
	before := fmt.Sprint(env.Proxy.Services())
	if err := env.WriteManifest("services.yaml", ServicesYAML+"---\napiVersion: v1\nkind: Service\nmetadata: {name: [\n"); err != nil {
		t.Fatal(err)
	}
	if err := env.WriteManifest("pods.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: pod1}\nstatus: {podIP: not-an-ip}\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "manifest errors reported", func() bool { return len(env.Proxy.Problems()) == 2 })
	if after := fmt.Sprint(env.Proxy.Services()); after != before {
		t.Errorf("services after a malformed manifest = %s; want unchanged %s", after, before)
	}
	my, _ := env.Service("my-service")
	counts, err := Spread(ctx, w.Client, fmt.Sprintf("http://%s/", my.ClusterIPs[0]), 20)
	if err != nil || counts["pod1"] == 0 || counts["pod2"] == 0 {
		t.Errorf("traffic after a malformed manifest: %v, %v; want both pods", counts, err)
	}
	r, err := Query(w.Client, env.Proxy.DNSAddr(), "my-service.default.svc.cluster.local", dns.TypeA)
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
	waitFor(t, "headless service", func() bool { _, ok := env.Service("docs"); return ok })
	my, _ := env.Service("my-service")
	rev, _ := dns.ReverseAddr(my.ClusterIPs[0].String())
	srv := env.Proxy.DNSAddr()
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
		{"headless A", "headless.default.svc.cluster.local", dns.TypeA, dns.RcodeSuccess, "10.244.0.11,10.244.0.12"},
		// CoreDNS splits the weight of 100 evenly over the records of one name.
		{"headless SRV", "_http._tcp.headless.default.svc.cluster.local", dns.TypeSRV, dns.RcodeSuccess, "0 50 80 10-244-0-11.headless.default.svc.cluster.local.,0 50 80 10-244-0-12.headless.default.svc.cluster.local."},
		{"ExternalName CNAME", "docs.default.svc.cluster.local", dns.TypeA, dns.RcodeSuccess, "docs.example.com."},
		{"NXDOMAIN", "missing.default.svc.cluster.local", dns.TypeA, dns.RcodeNameError, ""},
		{"NODATA empty non-terminal", "default.svc.cluster.local", dns.TypeA, dns.RcodeSuccess, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Query(w.Client, srv, tt.qname, tt.qtype)
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
