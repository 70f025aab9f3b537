package controlplane

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newCP(t *testing.T, cfg Config) (*ControlPlane, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	lb, err := allocator.NewLBAllocator(allocator.Pool{Name: "default",
		Addresses: []allocator.AddrRange{allocator.MustParseAddrRange("203.0.113.0/28")}})
	if err != nil {
		t.Fatal(err)
	}
	alloc, err := allocator.NewServices(allocator.ServicesConfig{
		ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")},
		LoadBalancer:    lb, GracePeriod: time.Minute, Now: clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Allocator, cfg.Now = alloc, clk.now
	cp, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cp, clk
}

func lbService(name string) Service {
	return Service{
		Spec: resolved.Service{Namespace: "shop", Name: name, Type: resolved.LoadBalancer,
			Ports: []resolved.Port{{Name: "http", Port: 80}}},
		Selector: map[string]string{"app": name},
	}
}

func pod(name, app, ip string) endpoints.Workload {
	return endpoints.Workload{Namespace: "shop", Name: name, Labels: map[string]string{"app": app},
		IPs: []netip.Addr{netip.MustParseAddr(ip)}, Ready: true}
}

func mustResolve(t *testing.T, cp *ControlPlane, in Input) *resolved.State {
	t.Helper()
	st, err := cp.Resolve(in)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return st
}

// TestCutAndRestoredKeepAddresses (issue 13): a manifest truncated and
// written again makes its services disappear for a moment; they come back
// with the same ClusterIP, NodePort and LoadBalancer address.
func TestCutAndRestoredKeepAddresses(t *testing.T) {
	cp, clk := newCP(t, Config{})
	in := Input{Services: []Service{lbService("web")}, Workloads: []endpoints.Workload{pod("web-0", "web", "10.244.0.2")}}
	before := mustResolve(t, cp, in).Services[0]
	mustResolve(t, cp, Input{}) // the file is empty for a moment
	// Another service arrives meanwhile: it must not get web's values.
	other := mustResolve(t, cp, Input{Services: []Service{lbService("api")}}).Services[0]
	clk.t = clk.t.Add(30 * time.Second)
	after := mustResolve(t, cp, Input{Services: []Service{lbService("api"), lbService("web")}, Workloads: in.Workloads}).Lookup(before.Ref())
	if after == nil || after.ClusterIPs[0] != before.ClusterIPs[0] || after.Ports[0].NodePort != before.Ports[0].NodePort ||
		after.LoadBalancerIPs[0] != before.LoadBalancerIPs[0] {
		t.Fatalf("web came back as %+v; want the values it had: %+v", after, before)
	}
	if other.ClusterIPs[0] == before.ClusterIPs[0] || other.Ports[0].NodePort == before.Ports[0].NodePort ||
		other.LoadBalancerIPs[0] == before.LoadBalancerIPs[0] {
		t.Fatalf("api took a value web held during its grace period: %+v vs %+v", other, before)
	}
}

func TestRevisionOnlyOnChange(t *testing.T) {
	cp, _ := newCP(t, Config{})
	in := Input{Services: []Service{lbService("web"), lbService("api")}, Workloads: []endpoints.Workload{pod("web-0", "web", "10.244.0.2")}}
	st1 := mustResolve(t, cp, in)
	if st2 := mustResolve(t, cp, in); st2.Version != st1.Version {
		t.Fatalf("unchanged input: version %d -> %d; want the same", st1.Version, st2.Version)
	}
	in.Workloads = append(in.Workloads, pod("web-1", "web", "10.244.0.3"))
	st3 := mustResolve(t, cp, in)
	changed, removed := resolved.Diff(st1, st3)
	if len(changed) != 1 || changed[0].Name != "web" || len(removed) != 0 {
		t.Fatalf("a new web pod changed %v, removed %v; want only shop/web changed", changed, removed)
	}
}

func TestRefusedServicesDoNotBlockOthers(t *testing.T) {
	cp, _ := newCP(t, Config{ExternalIPs: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}})
	allowed, denied, dup := lbService("ok-ext"), lbService("bad-ext"), lbService("web")
	allowed.Spec.ExternalIPs = []netip.Addr{netip.MustParseAddr("198.51.100.7")}
	denied.Spec.ExternalIPs = []netip.Addr{netip.MustParseAddr("10.0.0.1")}
	dup.Spec.Ports[0].Port = 81
	st, err := cp.Resolve(Input{Services: []Service{lbService("web"), dup, allowed, denied}})
	if err == nil || !strings.Contains(err.Error(), "bad-ext") || !strings.Contains(err.Error(), "defined twice") {
		t.Fatalf("Resolve error = %v; want bad-ext (external IP not allowed) and the second web refused", err)
	}
	if len(st.Services) != 2 || st.Lookup(resolved.Ref{Namespace: "shop", Name: "web"}).Ports[0].Port != 80 {
		t.Fatalf("published %+v; want ok-ext and the first web", st.Services)
	}
	if h := cp.Health(); len(h.Refused) != 2 {
		t.Fatalf("Health().Refused = %v; want the two refused services", h.Refused)
	}
	// The default allows no external IP at all (CVE-2020-8554).
	strict, _ := newCP(t, Config{})
	if _, err := strict.Resolve(Input{Services: []Service{allowed}}); err == nil {
		t.Fatal("an external IP was admitted with Config.ExternalIPs empty; want refused by default")
	}
}

// TestPersistFailureReported (issue 13): a state directory turning
// read-only is retried and shown in health until a persist succeeds.
func TestPersistFailureReported(t *testing.T) {
	var stored []byte
	fail := true
	cp, _ := newCP(t, Config{Persist: func(b []byte) error {
		if fail {
			return errors.New("read-only file system")
		}
		stored = b
		return nil
	}})
	mustResolve(t, cp, Input{Services: []Service{lbService("web")}})
	if ok, why := cp.Health().OK(); ok || !strings.Contains(why, "read-only") {
		t.Fatalf("Health().OK() = %v, %q; want not ok naming the persist failure", ok, why)
	}
	if !cp.retrying() {
		t.Fatal("a failed persist is not due for a retry")
	}
	fail = false
	cp.expire() // what Run does each RetryInterval
	if ok, why := cp.Health().OK(); !ok || stored == nil {
		t.Fatalf("after the retry: Health %v %q, stored %d bytes; want ok and stored", ok, why, len(stored))
	}
	// The stored snapshot restores the allocation whole.
	again, _ := newCP(t, Config{})
	if err := again.cfg.Allocator.Restore(stored); err != nil {
		t.Fatalf("Restore(persisted) = %v", err)
	}
	if _, ok := again.cfg.Allocator.Get("shop/web"); !ok {
		t.Fatal("the persisted snapshot lacks shop/web")
	}
}

// chanSource hands out inputs sent on a channel, one generation each.
type chanSource struct {
	in  chan Input
	gen uint64
}

func (s *chanSource) Next(ctx context.Context, after uint64) (Input, uint64, error) {
	select {
	case in := <-s.in:
		s.gen++
		return in, s.gen, nil
	case <-ctx.Done():
		return Input{}, 0, ctx.Err()
	}
}

func TestRunPublishesAndStops(t *testing.T) {
	cp, _ := newCP(t, Config{})
	src := &chanSource{in: make(chan Input)}
	var latest resolved.Latest
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- cp.Run(ctx, src, &latest) }()
	src.in <- Input{Services: []Service{lbService("web")}}
	st, err := latest.Next(ctx, 0)
	if err != nil || len(st.Services) != 1 {
		t.Fatalf("published %v, %v; want shop/web", st, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v; want nil after ctx ended", err)
	}
	if ok, why := cp.Health().OK(); !ok {
		t.Fatalf("Health: %s", why)
	}
}

func TestNewNeedsAllocator(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without an Allocator succeeded")
	}
}
