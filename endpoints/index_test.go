package endpoints

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func refsOf(x *ServiceIndex, w *Workload) []Ref {
	got := x.AppendSelecting(nil, w)
	slices.SortFunc(got, func(a, b Ref) int {
		if a.Namespace != b.Namespace {
			return strings.Compare(a.Namespace, b.Namespace)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return got
}

func TestServiceIndex(t *testing.T) {
	x := NewServiceIndex()
	x.Set(&Service{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"}})
	x.Set(&Service{Namespace: "shop", Name: "web-canary", Selector: map[string]string{"app": "web", "track": "canary"}})
	x.Set(&Service{Namespace: "prod", Name: "web", Selector: map[string]string{"app": "web"}})
	x.Set(&Service{Namespace: "shop", Name: "manual"}) // no selector: selects nothing
	tests := []struct {
		name string
		w    Workload
		want []Ref
	}{
		{"selected by the equality subset", Workload{Namespace: "shop", Labels: map[string]string{"app": "web", "v": "1"}},
			[]Ref{{"shop", "web"}}},
		{"selected by two services", Workload{Namespace: "shop", Labels: map[string]string{"app": "web", "track": "canary"}},
			[]Ref{{"shop", "web"}, {"shop", "web-canary"}}},
		{"a service selects only its own namespace", Workload{Namespace: "dev", Labels: map[string]string{"app": "web"}}, nil},
		{"other labels", Workload{Namespace: "shop", Labels: map[string]string{"app": "db"}}, nil},
		{"no labels", Workload{Namespace: "shop"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refsOf(x, &tt.w); !slices.Equal(got, tt.want) {
				t.Errorf("AppendSelecting(%v) = %v; want %v", tt.w.Labels, got, tt.want)
			}
		})
	}
	// Replacing a selector moves the service; clearing it removes it.
	x.Set(&Service{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "api"}})
	x.Set(&Service{Namespace: "shop", Name: "web-canary"})
	if got := refsOf(x, &Workload{Namespace: "shop", Labels: map[string]string{"app": "web", "track": "canary"}}); len(got) != 0 {
		t.Errorf("after replace and clear: %v; want none", got)
	}
	x.Delete(Ref{"prod", "web"})
	if got := refsOf(x, &Workload{Namespace: "prod", Labels: map[string]string{"app": "web"}}); len(got) != 0 {
		t.Errorf("after Delete: %v; want none", got)
	}
}

// TestServiceIndexAgreesWithDesired checks the index against the forward
// computation on random services and workloads.
func TestServiceIndexAgreesWithDesired(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := NewServiceIndex()
	var svcs []Service
	for i := range 200 {
		sel := map[string]string{}
		for k := range r.IntN(3) {
			sel[fmt.Sprintf("k%d", k)] = fmt.Sprintf("v%d", r.IntN(3))
		}
		s := Service{Namespace: fmt.Sprintf("ns%d", r.IntN(3)), Name: fmt.Sprintf("s%d", i), Selector: sel,
			Ports: []ServicePort{{Port: 80}}}
		svcs = append(svcs, s)
		x.Set(&s)
	}
	for i := range 300 {
		w := Workload{Namespace: fmt.Sprintf("ns%d", r.IntN(3)), Name: fmt.Sprintf("w%d", i), Labels: map[string]string{},
			IPs: []netip.Addr{ip(fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))}, Ready: true}
		for k := range 3 {
			if r.IntN(2) == 0 {
				w.Labels[fmt.Sprintf("k%d", k)] = fmt.Sprintf("v%d", r.IntN(3))
			}
		}
		var want []Ref
		for j := range svcs {
			if len(Desired(&svcs[j], []Workload{w})) > 0 {
				want = append(want, Ref{svcs[j].Namespace, svcs[j].Name})
			}
		}
		slices.SortFunc(want, func(a, b Ref) int { return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name) })
		got := refsOf(x, &w)
		if !slices.Equal(got, want) {
			t.Fatalf("workload %v in %s: index says %v; Desired says %v", w.Labels, w.Namespace, got, want)
		}
	}
}

func BenchmarkServiceIndex(b *testing.B) {
	x := NewServiceIndex()
	for i := range 10000 {
		x.Set(&Service{Namespace: "default", Name: fmt.Sprintf("svc-%d", i),
			Selector: map[string]string{"app": fmt.Sprintf("app-%d", i%1000), "tier": fmt.Sprintf("t%d", i%7)}})
	}
	w := Workload{Namespace: "default", Labels: map[string]string{"app": "app-42", "tier": "t0", "pod-template-hash": "abc"}}
	dst := make([]Ref, 0, 16)
	b.ReportAllocs()
	for range b.N {
		dst = x.AppendSelecting(dst[:0], &w)
	}
}

// TestServiceIndexConcurrentSetDelete: a service set while another of its
// namespace comes and goes is never lost.
func TestServiceIndexConcurrentSetDelete(t *testing.T) {
	x := NewServiceIndex()
	w := &Workload{Namespace: "ns", Name: "p", Labels: map[string]string{"app": "a"}}
	a := &Service{Namespace: "ns", Name: "a", Selector: map[string]string{"app": "a"}}
	b := &Service{Namespace: "ns", Name: "b", Selector: map[string]string{"app": "b"}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20000 {
			x.Set(b)
			x.Delete(Ref{Namespace: "ns", Name: "b"})
		}
	}()
	for i := 0; ; i++ {
		x.Set(a)
		if got := refsOf(x, w); len(got) != 1 || got[0].Name != "a" {
			t.Fatalf("try %d: services selecting the pod = %v; want [ns/a]", i, got)
		}
		x.Delete(Ref{Namespace: "ns", Name: "a"})
		select {
		case <-done:
			return
		default:
		}
	}
}

// The zero ServiceIndex is usable, as selector.Index's is: lookups and
// deletes on it are no-ops, and Set starts it.
func TestServiceIndexZeroValue(t *testing.T) {
	var x ServiceIndex
	w := &Workload{Namespace: "shop", Labels: map[string]string{"app": "web"}}
	if got := refsOf(&x, w); len(got) != 0 {
		t.Errorf("zero index AppendSelecting = %v; want none", got)
	}
	x.Delete(Ref{"shop", "web"})
	x.Set(&Service{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"}})
	if got := refsOf(&x, w); !slices.Equal(got, []Ref{{"shop", "web"}}) {
		t.Errorf("after Set on the zero index: %v; want [shop/web]", got)
	}
}
