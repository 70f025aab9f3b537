package endpoints

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestConditions(t *testing.T) {
	tests := []struct {
		name                     string
		ready, deleting, publish bool
		want                     Conditions
	}{
		{"ready pod", true, false, false, Conditions{Ready: true, Serving: true}},
		{"not ready pod", false, false, false, Conditions{}},
		{"terminating ready pod is serving, not ready", true, true, false, Conditions{Serving: true, Terminating: true}},
		{"terminating not ready pod", false, true, false, Conditions{Terminating: true}},
		{"publishNotReadyAddresses makes not-ready ready", false, false, true, Conditions{Ready: true}},
		{"publishNotReadyAddresses makes terminating ready", true, true, true, Conditions{Ready: true, Serving: true, Terminating: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{PublishNotReadyAddresses: tt.publish}
			w := &Workload{Ready: tt.ready, Deleting: tt.deleting}
			if got := conditionsFor(s, w); got != tt.want {
				t.Errorf("conditionsFor(ready=%v, deleting=%v, publish=%v) = %+v; want %+v", tt.ready, tt.deleting, tt.publish, got, tt.want)
			}
		})
	}
}

func TestResolvePort(t *testing.T) {
	w := &Workload{Ports: []ContainerPort{
		{Name: "http", Number: 8080},
		{Name: "dns", Protocol: UDP, Number: 5353},
		{Name: "sidecar", Number: 9090}, // a restartable init container's port
	}}
	tests := []struct {
		name   string
		sp     ServicePort
		want   uint16
		wantOK bool
	}{
		{"zero target means service port", ServicePort{Port: 80}, 80, true},
		{"numeric target as is", ServicePort{Port: 80, TargetPort: TargetPort{Number: 8443}}, 8443, true},
		{"numeric target needs no container port", ServicePort{Port: 80, TargetPort: TargetPort{Number: 1}}, 1, true},
		{"named target resolves", ServicePort{Port: 80, TargetPort: TargetPort{Name: "http"}}, 8080, true},
		{"named target in init container", ServicePort{Port: 90, TargetPort: TargetPort{Name: "sidecar"}}, 9090, true},
		{"named target with matching protocol", ServicePort{Protocol: UDP, Port: 53, TargetPort: TargetPort{Name: "dns"}}, 5353, true},
		{"named target with wrong protocol", ServicePort{Port: 53, TargetPort: TargetPort{Name: "dns"}}, 0, false},
		{"unknown name", ServicePort{Port: 80, TargetPort: TargetPort{Name: "nope"}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ResolvePort(tt.sp, w)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ResolvePort(%+v) = %d, %v; want %d, %v", tt.sp, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestDesired(t *testing.T) {
	svc := Service{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"},
		Ports: []ServicePort{{Name: "http", Port: 80, TargetPort: TargetPort{Name: "http"}}}}
	pod := func(name, addr string, mod func(*Workload)) Workload {
		w := Workload{Namespace: "ns", Name: name, Labels: map[string]string{"app": "web"},
			IPs: []netip.Addr{ip(addr)}, Ready: true, Node: "n1", Zone: "z1",
			Ports: []ContainerPort{{Name: "http", Number: 8080}}}
		if mod != nil {
			mod(&w)
		}
		return w
	}
	tests := []struct {
		name string
		svc  func(*Service)
		in   []Workload
		want []string // "family ports: addresses"
	}{
		{"other namespace left out", nil, []Workload{pod("a", "10.0.0.1", func(w *Workload) { w.Namespace = "x" })}, nil},
		{"unselected left out", nil, []Workload{pod("a", "10.0.0.1", func(w *Workload) { w.Labels = nil })}, nil},
		{"no selector gets no endpoints", func(s *Service) { s.Selector = nil }, []Workload{pod("a", "10.0.0.1", nil)}, nil},
		{"succeeded left out", nil, []Workload{pod("a", "10.0.0.1", func(w *Workload) { w.Phase = Succeeded })}, nil},
		{"failed left out", nil, []Workload{pod("a", "10.0.0.1", func(w *Workload) { w.Phase = Failed })}, nil},
		{"no IP left out", nil, []Workload{pod("a", "10.0.0.1", func(w *Workload) { w.IPs = nil })}, nil},
		{"terminating kept", nil, []Workload{pod("a", "10.0.0.1", func(w *Workload) { w.Deleting = true })}, []string{"4|http/TCP/8080/: 10.0.0.1"}},
		{"different named port mapping splits slices", nil, []Workload{
			pod("a", "10.0.0.1", nil),
			pod("b", "10.0.0.2", func(w *Workload) { w.Ports[0].Number = 9000 }),
			pod("c", "10.0.0.3", func(w *Workload) { w.Ports = nil }),
		}, []string{"4: 10.0.0.3", "4|http/TCP/8080/: 10.0.0.1", "4|http/TCP/9000/: 10.0.0.2"}},
		{"dual-stack one group per family", func(s *Service) { s.Families = []IPFamily{IPv6, IPv4} }, []Workload{
			pod("a", "10.0.0.1", func(w *Workload) { w.IPs = append(w.IPs, ip("fd00::1")) }),
			pod("b", "fd00::2", nil),
		}, []string{"4|http/TCP/8080/: 10.0.0.1", "6|http/TCP/8080/: fd00::1 fd00::2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := svc
			if tt.svc != nil {
				tt.svc(&s)
			}
			var got []string
			for _, g := range Desired(&s, tt.in) {
				line := g.Key() + ":"
				for _, e := range g.Endpoints {
					line += " " + e.Address.String()
				}
				got = append(got, line)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Desired() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestDesiredEndpointFields(t *testing.T) {
	s := &Service{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"}, Ports: []ServicePort{{Port: 80}}}
	in := []Workload{
		{Namespace: "ns", Name: "a", Labels: map[string]string{"app": "web"}, IPs: []netip.Addr{ip("10.0.0.1")}, Hostname: "h", Subdomain: "web", Node: "n", Zone: "z"},
		{Namespace: "ns", Name: "b", Labels: map[string]string{"app": "web"}, IPs: []netip.Addr{ip("10.0.0.2")}, Hostname: "h2", Subdomain: "other"},
	}
	g := Desired(s, in)
	if len(g) != 1 || len(g[0].Endpoints) != 2 {
		t.Fatalf("Desired() = %+v; want one group of 2", g)
	}
	want := Endpoint{Address: ip("10.0.0.1"), Hostname: "h", NodeName: "n", Zone: "z", TargetRef: Ref{"ns", "a"}}
	if got := g[0].Endpoints[0]; got != want {
		t.Errorf("endpoint a = %+v; want %+v", got, want)
	}
	if got := g[0].Endpoints[1].Hostname; got != "" {
		t.Errorf("hostname with subdomain != service name = %q; want empty", got)
	}
}

// Service.Validate follows the Kubernetes 1.37 API validation of a
// Service's selector (label keys and values) and ports ("ports[i].name:
// Required value" when there is more than one port; names DNS-1123 labels,
// unique; port numbers 1–65535; port and protocol unique).
func TestServiceValidateKubernetesRules(t *testing.T) {
	ok := func(f func(s *Service)) *Service {
		s := &Service{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"},
			Ports: []ServicePort{{Name: "http", Port: 80}, {Name: "dns", Protocol: UDP, Port: 53}}}
		f(s)
		return s
	}
	tests := []struct {
		name    string
		s       *Service
		wantErr bool
	}{
		{"named ports", ok(func(*Service) {}), false},
		{"one unnamed port", ok(func(s *Service) { s.Ports = []ServicePort{{Port: 80}} }), false},
		{"no ports", ok(func(s *Service) { s.Ports = nil }), false},
		{"two unnamed ports need names", ok(func(s *Service) { s.Ports = []ServicePort{{Port: 80}, {Port: 81}} }), true},
		{"one of two unnamed", ok(func(s *Service) { s.Ports[1].Name = "" }), true},
		{"same name twice", ok(func(s *Service) { s.Ports[1].Name = "http" }), true},
		{"same number other protocol", ok(func(s *Service) { s.Ports[1].Port = 80 }), false},
		{"same number and protocol", ok(func(s *Service) { s.Ports[1].Port, s.Ports[1].Protocol = 80, TCP }), true},
		{"port 0", ok(func(s *Service) { s.Ports[0].Port = 0 }), true},
		{"unknown protocol", ok(func(s *Service) { s.Ports[0].Protocol = SCTP + 1 }), true},
		{"uppercase port name", ok(func(s *Service) { s.Ports[0].Name = "HTTP" }), true},
		{"selector key with space and bang", ok(func(s *Service) { s.Selector = map[string]string{"bad key!": "x"} }), true},
		{"selector value with slash", ok(func(s *Service) { s.Selector = map[string]string{"app": "a/b"} }), true},
		{"prefixed selector key", ok(func(s *Service) { s.Selector = map[string]string{"example.com/app": ""} }), false},
		{"no selector", ok(func(s *Service) { s.Selector = nil }), false},
	}
	for _, tt := range tests {
		err := tt.s.Validate()
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalidService)) {
			t.Errorf("%s: Validate() = %v; want error %v wrapping ErrInvalidService", tt.name, err, tt.wantErr)
		}
	}
}
