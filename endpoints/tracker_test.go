package endpoints

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

func trackSlice(name string, port uint16, eps ...Endpoint) *Slice {
	return &Slice{Name: name, Family: 4, Ports: []Port{{Name: "http", Protocol: TCP, Port: port}}, Endpoints: eps}
}

func readyEP(addr string) Endpoint {
	return Endpoint{Address: netip.MustParseAddr(addr), Conditions: Conditions{Ready: true, Serving: true}}
}

// summary renders changes as "+a -b ~c" per port for compact expectations.
func summary(cs []Change) []string {
	var out []string
	for _, c := range cs {
		s := c.Port.Service.Name + "/" + c.Port.Port + ":"
		for _, e := range c.Added {
			s += " +" + e.AddrPort.String()
		}
		for _, e := range c.Removed {
			s += " -" + e.AddrPort.String()
		}
		for _, e := range c.Updated {
			s += " ~" + e.AddrPort.String()
		}
		out = append(out, s)
	}
	return out
}

func TestTracker(t *testing.T) {
	svc := Ref{Namespace: "ns", Name: "web"}
	notReady := readyEP("10.0.0.2")
	notReady.Conditions = Conditions{}
	tests := []struct {
		name  string
		steps func(tr *Tracker)
		want  []string
	}{
		{"add", func(tr *Tracker) {
			tr.Update(svc, trackSlice("web-1", 80, readyEP("10.0.0.1"), readyEP("10.0.0.2")))
		}, []string{"web/http: +10.0.0.1:80 +10.0.0.2:80"}},
		{"unchanged update is no change", func(tr *Tracker) {
			tr.Update(svc, trackSlice("web-1", 80, readyEP("10.0.0.1"), readyEP("10.0.0.2")))
		}, nil},
		{"condition change is an update", func(tr *Tracker) {
			tr.Update(svc, trackSlice("web-1", 80, readyEP("10.0.0.1"), notReady))
		}, []string{"web/http: ~10.0.0.2:80"}},
		{"remove endpoint", func(tr *Tracker) { tr.Update(svc, trackSlice("web-1", 80, readyEP("10.0.0.1"))) }, []string{"web/http: -10.0.0.2:80"}},
		{"move between slices in any order is no change", func(tr *Tracker) {
			tr.Update(svc, trackSlice("web-2", 80, readyEP("10.0.0.1")))
			tr.Update(svc, trackSlice("web-1", 80))
		}, nil},
		// web-2 still holds 10.0.0.1:80, so nothing goes away.
		{"port change is remove plus add", func(tr *Tracker) {
			tr.Update(svc, trackSlice("web-1", 8080, readyEP("10.0.0.1"), readyEP("10.0.0.2")))
		}, []string{"web/http: +10.0.0.1:8080 +10.0.0.2:8080"}},
		{"coalesced add then remove is nothing", func(tr *Tracker) {
			tr.Update(svc, trackSlice("web-3", 8080, readyEP("10.0.0.9")))
			tr.Delete(svc, "web-3")
		}, nil},
		{"delete last slices", func(tr *Tracker) {
			tr.Delete(svc, "web-1")
			tr.Delete(svc, "web-2")
		}, []string{"web/http: -10.0.0.1:80 -10.0.0.1:8080 -10.0.0.2:8080"}},
		{"delete unknown is no change", func(tr *Tracker) { tr.Delete(Ref{Name: "x"}, "x-1") }, nil},
	}
	// The steps build on each other: one tracker through the whole table.
	tr := NewTracker()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.steps(tr)
			if got := summary(tr.Changes()); !slices.Equal(got, tt.want) {
				t.Errorf("Changes() = %q; want %q", got, tt.want)
			}
		})
	}
	if len(tr.services) != 0 {
		t.Errorf("tracker keeps %d services after all slices were deleted; want 0", len(tr.services))
	}
}

func trackerBench(b testing.TB) (*Tracker, Ref, []*Slice) {
	svc := Ref{Namespace: "ns", Name: "web"}
	tr := NewTracker()
	var ss []*Slice
	for s := range 100 {
		var eps []Endpoint
		for e := range 100 {
			eps = append(eps, readyEP(fmt.Sprintf("10.%d.%d.1", s, e)))
		}
		sl := trackSlice(fmt.Sprintf("web-%d", s), 80, eps...)
		ss = append(ss, sl)
		tr.Update(svc, sl)
	}
	tr.Changes()
	return tr, svc, ss
}

func BenchmarkTrackerOneSliceChanged(b *testing.B) {
	tr, svc, ss := trackerBench(b)
	a, c := *ss[50], *ss[50]
	c.Endpoints = slices.Clone(a.Endpoints)
	c.Endpoints[7].Conditions = Conditions{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s := &a
		if i%2 == 0 {
			s = &c
		}
		tr.Update(svc, s)
		if cs := tr.Changes(); len(cs) != 1 || len(cs[0].Updated) != 1 {
			b.Fatalf("Changes() = %v; want one update", summary(cs))
		}
	}
}

// TestTrackerModel feeds random slice updates (endpoints kept in place,
// reordered, repeated within a slice, moved between slices) and checks the
// applied changes against a model recomputed from scratch: per key, the
// last value in the slice whose name sorts first.
func TestTrackerModel(t *testing.T) {
	svc := Ref{Namespace: "ns", Name: "web"}
	rng := rand.New(rand.NewPCG(3, 4))
	tr := NewTracker()
	slicesNow := map[string]*Slice{}
	applied := map[netip.AddrPort]Endpoint{}
	names := []string{"web-a", "web-b", "web-c"}
	for step := range 3000 {
		name := names[rng.IntN(len(names))]
		switch old := slicesNow[name]; {
		case rng.IntN(10) == 0:
			tr.Delete(svc, name)
			delete(slicesNow, name)
		case old != nil && rng.IntN(2) == 0:
			// In place: same endpoints, one condition flipped.
			s := *old
			s.Endpoints = slices.Clone(old.Endpoints)
			i := rng.IntN(len(s.Endpoints))
			s.Endpoints[i].Conditions.Ready = !s.Endpoints[i].Conditions.Ready
			tr.Update(svc, &s)
			slicesNow[name] = &s
		default:
			var eps []Endpoint
			for range 1 + rng.IntN(4) {
				e := readyEP(fmt.Sprintf("10.0.0.%d", 1+rng.IntN(5)))
				e.Conditions.Ready = rng.IntN(2) == 0
				eps = append(eps, e)
			}
			s := trackSlice(name, 80, eps...)
			tr.Update(svc, s)
			slicesNow[name] = s
		}
		for _, c := range tr.Changes() {
			for _, e := range slices.Concat(c.Added, c.Updated) {
				applied[e.AddrPort] = e.Endpoint
			}
			for _, e := range c.Removed {
				delete(applied, e.AddrPort)
			}
		}
		want := map[netip.AddrPort]Endpoint{}
		for _, n := range slices.Backward(names) {
			if s := slicesNow[n]; s != nil {
				for _, e := range s.Endpoints {
					want[netip.AddrPortFrom(e.Address, 80)] = e
				}
			}
		}
		if !maps.Equal(applied, want) {
			t.Fatalf("step %d: applied changes give %v; want %v", step, applied, want)
		}
		// The accessor gives the same whole list the deltas lead to.
		port := ServicePortName{Service: svc, Port: "http", Protocol: TCP}
		list := tr.AppendEndpoints(nil, port)
		got := map[netip.AddrPort]Endpoint{}
		for i, e := range list {
			got[e.AddrPort] = e.Endpoint
			if i > 0 && list[i-1].AddrPort.Compare(e.AddrPort) >= 0 {
				t.Fatalf("step %d: AppendEndpoints not sorted: %v", step, list)
			}
		}
		if !maps.Equal(got, want) || len(got) != len(list) {
			t.Fatalf("step %d: AppendEndpoints = %v; want %v", step, list, want)
		}
		if ports := tr.AppendPorts(nil); (len(want) > 0) != slices.Equal(ports, []ServicePortName{port}) || (len(want) == 0 && len(ports) != 0) {
			t.Fatalf("step %d: AppendPorts = %v with %d endpoints", step, ports, len(want))
		}
	}
}

// AppendUsableEndpoints is AppendUsable's rule over the tracked list: a
// node hint for the asking node narrows the list (KEP-4444 PreferSameNode,
// consumed as kube-proxy does), Local policy keeps the node's own.
func TestTrackerUsableEndpoints(t *testing.T) {
	svc := Ref{Namespace: "ns", Name: "web"}
	tr := NewTracker()
	a, b, c := readyEP("10.0.0.1"), readyEP("10.0.0.2"), readyEP("10.0.0.3")
	a.NodeName, a.Hints = "n1", Hints{ForZone: "z", ForNode: "n1"}
	b.NodeName, b.Hints = "n2", Hints{ForZone: "z", ForNode: "n2"}
	c.NodeName, c.Hints = "n2", Hints{ForZone: "z", ForNode: "n2"}
	tr.Update(svc, trackSlice("web-1", 80, c, a, b))
	tr.Changes()
	port := ServicePortName{Service: svc, Port: "http", Protocol: TCP}
	addrs := func(l []TrackedEndpoint) (out []string) {
		for _, e := range l {
			out = append(out, e.AddrPort.String())
		}
		return out
	}
	for _, tt := range []struct {
		node   string
		policy TrafficPolicy
		want   []string
	}{
		{"n1", PolicyCluster, []string{"10.0.0.1:80"}},
		{"n2", PolicyCluster, []string{"10.0.0.2:80", "10.0.0.3:80"}},
		{"n3", PolicyCluster, []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}},
		{"n2", PolicyLocal, []string{"10.0.0.2:80", "10.0.0.3:80"}},
		{"n3", PolicyLocal, nil},
	} {
		dst := []TrackedEndpoint{{}} // kept in front
		got := tr.AppendUsableEndpoints(dst, port, tt.node, "z", tt.policy)
		if got[0] != (TrackedEndpoint{}) || !slices.Equal(addrs(got[1:]), tt.want) {
			t.Errorf("AppendUsableEndpoints(%s, %v) = %v; want %v", tt.node, tt.policy, addrs(got[1:]), tt.want)
		}
	}
}
