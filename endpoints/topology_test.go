package endpoints

import (
	"net/netip"
	"slices"
	"testing"
)

func TestHints(t *testing.T) {
	w := Workload{Namespace: "ns", Name: "p", Labels: map[string]string{"app": "web"}, IPs: []netip.Addr{ip("10.0.0.1")}, Node: "n1", Zone: "z1", Ready: true}
	tests := []struct {
		name  string
		td    TrafficDistribution
		ready bool
		zone  string
		want  Hints
	}{
		{"none", "", true, "z1", Hints{}},
		{"PreferClose gives own zone", PreferClose, true, "z1", Hints{ForZone: "z1"}},
		{"PreferSameZone gives own zone", PreferSameZone, true, "z1", Hints{ForZone: "z1"}},
		{"PreferSameNode gives node and zone", PreferSameNode, true, "z1", Hints{ForZone: "z1", ForNode: "n1"}},
		{"not ready gets no hint", PreferClose, false, "z1", Hints{}},
		{"no zone gets no zone hint", PreferClose, true, "", Hints{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"}, TrafficDistribution: tt.td}
			w := w
			w.Ready, w.Zone = tt.ready, tt.zone
			g := Desired(s, []Workload{w})
			if got := g[0].Endpoints[0].Hints; got != tt.want {
				t.Errorf("hints(%q, ready=%v, zone=%q) = %+v; want %+v", tt.td, tt.ready, tt.zone, got, tt.want)
			}
		})
	}
}

func TestAppendUsable(t *testing.T) {
	ep := func(name, node, zone string, ready, serving, term bool, h Hints) Endpoint {
		return Endpoint{TargetRef: Ref{Name: name}, NodeName: node, Zone: zone, Hints: h,
			Conditions: Conditions{Ready: ready, Serving: serving, Terminating: term}}
	}
	za, zb := Hints{ForZone: "a"}, Hints{ForZone: "b"}
	tests := []struct {
		name       string
		eps        []Endpoint
		node, zone string
		policy     TrafficPolicy
		want       []string
	}{
		{"no hints: all ready", []Endpoint{ep("1", "n1", "a", true, true, false, Hints{}), ep("2", "n2", "b", true, true, false, Hints{}), ep("3", "n2", "b", false, false, false, Hints{})}, "n1", "a", PolicyCluster, []string{"1", "2"}},
		{"zone hints used", []Endpoint{ep("1", "n1", "a", true, true, false, za), ep("2", "n2", "b", true, true, false, zb)}, "n1", "a", PolicyCluster, []string{"1"}},
		{"zone hints ignored when one ready endpoint lacks one", []Endpoint{ep("1", "n1", "a", true, true, false, za), ep("2", "n2", "b", true, true, false, Hints{})}, "n1", "a", PolicyCluster, []string{"1", "2"}},
		{"zone hints ignored when none names our zone", []Endpoint{ep("1", "n1", "a", true, true, false, za), ep("2", "n2", "b", true, true, false, zb)}, "n3", "c", PolicyCluster, []string{"1", "2"}},
		{"not-ready endpoints do not need hints", []Endpoint{ep("1", "n1", "a", true, true, false, za), ep("2", "n2", "b", false, false, false, Hints{})}, "n1", "a", PolicyCluster, []string{"1"}},
		{"node hints used", []Endpoint{ep("1", "n1", "a", true, true, false, Hints{ForZone: "a", ForNode: "n1"}), ep("2", "n2", "a", true, true, false, Hints{ForZone: "a", ForNode: "n2"})}, "n2", "a", PolicyCluster, []string{"2"}},
		{"node hints miss: zone hints", []Endpoint{ep("1", "n1", "a", true, true, false, Hints{ForZone: "a", ForNode: "n1"}), ep("2", "n2", "b", true, true, false, Hints{ForZone: "b", ForNode: "n2"})}, "n3", "a", PolicyCluster, []string{"1"}},
		{"no ready: serving terminating fallback", []Endpoint{ep("1", "n1", "a", false, true, true, Hints{}), ep("2", "n2", "b", false, false, true, Hints{}), ep("3", "n2", "b", false, false, false, Hints{})}, "n1", "a", PolicyCluster, []string{"1"}},
		{"Local keeps own node", []Endpoint{ep("1", "n1", "a", true, true, false, zb), ep("2", "n2", "a", true, true, false, za)}, "n1", "a", PolicyLocal, []string{"1"}},
		{"Local with none ready on node falls back there", []Endpoint{ep("1", "n1", "a", false, true, true, Hints{}), ep("2", "n2", "a", true, true, false, Hints{})}, "n1", "a", PolicyLocal, []string{"1"}},
		{"Local with nothing on node", []Endpoint{ep("2", "n2", "a", true, true, false, Hints{})}, "n1", "a", PolicyLocal, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range AppendUsable(nil, tt.eps, tt.node, tt.zone, tt.policy) {
				got = append(got, e.TargetRef.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("AppendUsable(node=%q, zone=%q, %q) = %v; want %v", tt.node, tt.zone, tt.policy, got, tt.want)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	eps := make([]Endpoint, 100)
	for i := range eps {
		eps[i] = Endpoint{Conditions: Conditions{Ready: true, Serving: true}, Hints: Hints{ForZone: []string{"a", "b"}[i%2]}}
	}
	dst := make([]Endpoint, 0, len(eps))
	if n := testing.AllocsPerRun(1000, func() { dst = AppendUsable(dst[:0], eps, "n", "a", PolicyCluster) }); n != 0 {
		t.Errorf("AppendUsable allocs = %v; want 0", n)
	}
	if len(dst) != 50 {
		t.Errorf("AppendUsable kept %d; want 50", len(dst))
	}
}
