package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/examples/controller/embedded"
	"github.com/svcnet/svcnet/examples/controller/replica"
	"github.com/svcnet/svcnet/examples/internal/source"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/internal/netnstest"
)

func TestEtcdUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--etcd", "http://127.0.0.1:2379", "--manifests", "d"},
		{"--etcd", "http://127.0.0.1:2379", "--once"},
		{"--etcd", "http://127.0.0.1:2379", "--dry-run"},
	} {
		if code, _, errs := runCmd(t, args...); code != 2 || !strings.Contains(errs, "--etcd") {
			t.Errorf("proxy %q exit code %d (%s); want 2 naming --etcd", args, code, errs)
		}
	}
}

// syncBuffer is a log destination the test reads while the proxy writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startController runs one controller replica on dir against e.
func startController(t *testing.T, e *embedded.Etcd, dir string) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	cli, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	latest := &manifests.Latest{}
	r, err := replica.New(replica.Config{Client: cli, Name: "c1", TTL: 2 * time.Second,
		Source: &source.Manifests{Latest: latest},
		NewAllocator: func() (*allocator.Services, error) {
			return allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}})
		}})
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(2)
	go func() { defer wg.Done(); manifests.Watch(ctx, manifests.Config{Dir: dir}, latest.Store) }()
	go func() { defer wg.Done(); r.Run(ctx) }()
}

// In etcd mode a node programs what the controller published; while etcd
// is down it keeps its rules and DNS, says so in /healthz, /metrics and its
// log, and catches up once etcd is back.
func TestEtcdModeKeepsServingThroughOutage(t *testing.T) {
	w := netnstest.NewWorld(t)
	pod := w.AddPod(t, "web-0")
	pod.Serve(t, 8080)
	e, err := embedded.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	dir := manifestsDir(t, sample(pod.IPv4))
	startController(t, e, dir)

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	metrics := l.Addr().String()
	l.Close()
	dnsAddr := netip.AddrPortFrom(w.NodeIPv4, 53)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--etcd", e.Endpoint(), "--netns", w.Node.Path(), "--node", "node-1",
			"--dns-listen", dnsAddr.String(), "--metrics-listen", metrics}, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("proxy exit code %d:\n%s", code, logs)
		}
	})

	cip := waitAnswer(t, w, dnsAddr, "web.shop.svc.cluster.local")
	ask := func(when string) {
		t.Helper()
		if r, err := w.Client.NS.Ask(ctx, "tcp", netip.AddrPortFrom(cip, 80)); err != nil || r.Backend != "web-0" {
			t.Errorf("%s: %s:80 answered %+v, %v; want web-0", when, cip, r, err)
		}
	}
	ask("following etcd")
	waitHealth(t, metrics, 200, "ok")

	e.Stop()
	waitHealth(t, metrics, 503, "etcd")
	if m := get(t, "http://"+metrics+"/metrics"); !strings.Contains(m, "svcnet_healthy 0") {
		t.Errorf("/metrics during the outage lacks svcnet_healthy 0")
	}
	ask("etcd down")
	if got, err := query(w, dnsAddr, "web.shop.svc.cluster.local"); err != nil || got != cip {
		t.Errorf("DNS with etcd down: %v, %v; want %s from the last state", got, err, cip)
	}
	waitLog(t, logs, "etcd unreachable")

	if err := e.Restart(); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, metrics, 200, "ok")
	waitLog(t, logs, "etcd reachable again")
	api := "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n"
	if err := os.WriteFile(filepath.Join(dir, "api.yaml"), []byte(api), 0o644); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, w, dnsAddr, "api.shop.svc.cluster.local")
}

// waitAnswer waits until the node's DNS answers name and returns the address.
func waitAnswer(t *testing.T, w *netnstest.World, server netip.AddrPort, name string) netip.Addr {
	t.Helper()
	var got netip.Addr
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, err = query(w, server, name); err == nil {
			return got
		}
	}
	t.Fatalf("DNS %s: %v", name, err)
	return got
}

func query(w *netnstest.World, server netip.AddrPort, name string) (netip.Addr, error) {
	var r *dns.Msg
	err := w.Client.NS.Do(func() error {
		c := &dns.Client{Timeout: time.Second}
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), dns.TypeA)
		var err error
		r, _, err = c.Exchange(q, server.String())
		return err
	})
	if err != nil {
		return netip.Addr{}, err
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			addr, _ := netip.AddrFromSlice(a.A.To4())
			return addr, nil
		}
	}
	return netip.Addr{}, &net.DNSError{Err: dns.RcodeToString[r.Rcode], Name: name}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitHealth waits until /healthz answers code with a body holding want.
func waitHealth(t *testing.T, addr string, code int, want string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(b)
		if resp.StatusCode == code && strings.Contains(last, want) {
			return
		}
	}
	t.Fatalf("/healthz never answered %d %q; last: %s", code, want, last)
}

func waitLog(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(logs.String(), want) {
			return
		}
	}
	t.Errorf("log lacks %q:\n%s", want, logs)
}
