package source

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/resolved"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const webYAML = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web, image: web}]}
status: {phase: Running, podIP: 10.244.1.2, conditions: [{type: Ready, status: "True"}]}
`

const apiYAML = `apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80}]
`

// world runs a manifests watch and a control plane over dir, publishing
// to latest, until stop is called.
type world struct {
	dir    string
	latest resolved.Latest
	stop   func()
}

func start(t *testing.T) *world {
	t.Helper()
	w := &world{dir: t.TempDir()}
	lb, err := allocator.NewLBAllocator(allocator.Pool{Name: "default",
		Addresses: []allocator.AddrRange{allocator.MustParseAddrRange("203.0.113.0/28")}})
	if err != nil {
		t.Fatal(err)
	}
	alloc, err := allocator.NewServices(allocator.ServicesConfig{
		ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}, LoadBalancer: lb})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := controlplane.New(controlplane.Config{Allocator: alloc})
	if err != nil {
		t.Fatal(err)
	}
	var ml manifests.Latest
	loader := manifests.NewLoader(manifests.Config{Dir: w.dir, Debounce: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := loader.Watch(ctx, ml.Store); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Watch: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := cp.Run(ctx, &Manifests{Latest: &ml}, &w.latest); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	w.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(w.stop)
	return w
}

func (w *world) write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// until returns the first published state that cond accepts.
func (w *world) until(t *testing.T, cond func(*resolved.State) bool) *resolved.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var after uint64
	for {
		st, err := w.latest.Next(ctx, after)
		if err != nil {
			t.Fatalf("no such state published: %v", err)
		}
		if cond(st) {
			return st
		}
		after = st.Version
	}
}

var webRef = resolved.Ref{Namespace: "shop", Name: "web"}

// TestCutAndRestoredKeepAddresses (issue 13): a manifest truncated and
// written again, as editors and kubectl-style writers do, deletes its
// service for a moment; it comes back with the same ClusterIP, NodePort
// and LoadBalancer address, while a service created meanwhile gets others.
func TestCutAndRestoredKeepAddresses(t *testing.T) {
	w := start(t)
	w.write(t, "web.yaml", webYAML)
	before := *w.until(t, func(st *resolved.State) bool {
		s := st.Lookup(webRef)
		return s != nil && len(s.Slices) > 0 && len(s.Slices[0].Endpoints) == 1
	}).Lookup(webRef)

	w.write(t, "web.yaml", "") // truncated
	w.until(t, func(st *resolved.State) bool { return st.Lookup(webRef) == nil })
	w.write(t, "api.yaml", apiYAML)
	api := *w.until(t, func(st *resolved.State) bool { return st.Lookup(resolved.Ref{Namespace: "shop", Name: "api"}) != nil }).
		Lookup(resolved.Ref{Namespace: "shop", Name: "api"})
	w.write(t, "web.yaml", webYAML) // whole again
	after := *w.until(t, func(st *resolved.State) bool { return st.Lookup(webRef) != nil }).Lookup(webRef)

	if after.ClusterIPs[0] != before.ClusterIPs[0] || after.Ports[0].NodePort != before.Ports[0].NodePort ||
		after.LoadBalancerIPs[0] != before.LoadBalancerIPs[0] {
		t.Fatalf("web came back with %v %d %v; want %v %d %v", after.ClusterIPs, after.Ports[0].NodePort, after.LoadBalancerIPs,
			before.ClusterIPs, before.Ports[0].NodePort, before.LoadBalancerIPs)
	}
	if api.ClusterIPs[0] == before.ClusterIPs[0] || api.Ports[0].NodePort == before.Ports[0].NodePort ||
		api.LoadBalancerIPs[0] == before.LoadBalancerIPs[0] {
		t.Fatalf("api, created while web was gone, took one of web's values: %+v", api)
	}
	if got := after.Slices[0].Endpoints[0].Address; got != netip.MustParseAddr("10.244.1.2") || after.Slices[0].Ports[0].Port != 8080 {
		t.Fatalf("web's endpoint %v:%d; want 10.244.1.2:8080", got, after.Slices[0].Ports[0].Port)
	}
}
