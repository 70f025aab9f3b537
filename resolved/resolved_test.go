package resolved

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/svcnet/svcnet/endpoints"
)

func sample() Service {
	return Service{
		Namespace: "shop", Name: "web", Revision: 3, Type: LoadBalancer,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10"), netip.MustParseAddr("fd00::a")},
		IPFamilies: []IPFamily{IPv4, IPv6},
		Ports: []Port{
			{Name: "http", Port: 80, TargetPortName: "http", NodePort: 30080, AppProtocol: "http"},
			{Name: "dns", Protocol: UDP, Port: 53, TargetPort: 5353, NodePort: 30053},
		},
		ExternalIPs:              []netip.Addr{netip.MustParseAddr("192.0.2.7")},
		LoadBalancerIPs:          []netip.Addr{netip.MustParseAddr("198.51.100.1")},
		LoadBalancerSourceRanges: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		HealthCheckNodePort:      31000, ExternalTrafficPolicy: PolicyLocal, InternalTrafficPolicy: PolicyLocal,
		ClientIPAffinity: true, AffinityTimeout: 30 * time.Second, ConsistentHash: true,
		TrafficDistribution: "PreferClose", PublishNotReadyAddresses: true,
		Slices: []endpoints.Slice{{
			Name: "web-1", Family: 4, Labels: map[string]string{"kubernetes.io/service-name": "web"},
			Ports: []endpoints.Port{{Name: "http", Protocol: endpoints.TCP, Port: 8080}},
			Endpoints: []endpoints.Endpoint{{
				Address: netip.MustParseAddr("10.244.1.2"), Conditions: endpoints.Conditions{Ready: true, Serving: true},
				Hostname: "h", NodeName: "n1", Zone: "z1", TargetRef: endpoints.Ref{Namespace: "shop", Name: "web-0"},
				Hints: endpoints.Hints{ForZone: "z1"},
			}},
		}},
	}
}

func TestRoundTrip(t *testing.T) {
	web := sample()
	st := State{Version: 9, Services: []*Service{&web, {Namespace: "z", Name: "ext", Type: ExternalName, ExternalName: "example.com"}}}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal(%s) = %v", b, err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, st)
	}
	s := sample()
	b, err = MarshalService(&s)
	if err != nil {
		t.Fatal(err)
	}
	one, err := UnmarshalService(b)
	if err != nil || !reflect.DeepEqual(one, s) {
		t.Fatalf("UnmarshalService = %+v, %v; want %+v", one, err, s)
	}
}

func TestZeroValues(t *testing.T) {
	var st State
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Unmarshal(b); err != nil || got.Version != 0 || len(got.Services) != 0 {
		t.Fatalf("zero State round trip = %+v, %v", got, err)
	}
	var s Service
	if err := s.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero Service Validate = %v; want ErrInvalid", err)
	}
	if s.Affinity() != 0 || !reflect.DeepEqual(s.Families(), []IPFamily{IPv4}) {
		t.Fatalf("zero Service: Affinity %v, Families %v", s.Affinity(), s.Families())
	}
}

func TestFormatVersion(t *testing.T) {
	good, err := (&State{Version: 1}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want error
		msg  string
	}{
		{"newer writer", `{"format":2,"version":1,"services":[],"newField":true}`, ErrUnsupportedFormat, "newer than this reader"},
		{"older format", `{"format":0,"version":1}`, ErrUnsupportedFormat, "format 0"},
		{"no format", `{"version":1}`, ErrUnsupportedFormat, "no format"},
		{"unknown field in a known format", `{"format":1,"version":1,"extra":1}`, ErrInvalid, "extra"},
		{"trailing data", string(good) + `{}`, ErrInvalid, ""},
		{"not json", `{`, ErrInvalid, ""},
		{"bad address", `{"format":1,"version":1,"services":[{"namespace":"a","name":"b","type":"ClusterIP","externalTrafficPolicy":"Cluster","internalTrafficPolicy":"Cluster","clusterIPs":["10.0.0.300"]}]}`, ErrInvalid, "10.0.0.300"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tc.in))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Unmarshal(%s) = %v; want %v containing %q", tc.in, err, tc.want, tc.msg)
			}
		})
	}
	if _, err := UnmarshalService([]byte(`{"format":1}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("UnmarshalService without a service = %v; want ErrInvalid", err)
	}
}

// TestValidate pins what a node agent could not program whole; several are
// the inputs that passed manifest validation and failed the kernel batch
// (issue 13).
func TestValidate(t *testing.T) {
	addr := netip.MustParseAddr
	tests := []struct {
		name string
		edit func(*Service)
		msg  string
	}{
		{"valid", func(*Service) {}, ""},
		{"no name", func(s *Service) { s.Name = "" }, "name"},
		{"externalIPs 0.0.0.0 captures every address", func(s *Service) { s.ExternalIPs = []netip.Addr{addr("0.0.0.0")} }, "externalIPs"},
		{"loadBalancer :: unspecified", func(s *Service) { s.LoadBalancerIPs = []netip.Addr{addr("::")} }, "loadBalancerIPs"},
		{"two ClusterIPs of one family", func(s *Service) { s.ClusterIPs = []netip.Addr{addr("10.0.0.1"), addr("10.0.0.2")} }, "two addresses"},
		{"headless with a ClusterIP", func(s *Service) { s.Headless = true }, "headless"},
		{"two names on one port number", func(s *Service) { s.Ports[1] = Port{Name: "other", Port: 80, NodePort: 1} }, "used twice"},
		{"one name twice", func(s *Service) { s.Ports[1].Name, s.Ports[1].Protocol = "http", TCP }, "named twice"},
		{"unnamed port among several", func(s *Service) { s.Ports[0].Name = "" }, "names each"},
		{"port without a number", func(s *Service) { s.Ports[0].Port = 0 }, "no number"},
		{"nodePort on ClusterIP", func(s *Service) { s.Type = ClusterIP }, "nodePort"},
		{"affinity over a day", func(s *Service) { s.AffinityTimeout = MaxAffinityTimeout + time.Second }, "affinity"},
		{"slice port without a number", func(s *Service) { s.Slices[0].Ports[0].Port = 0 }, "no number"},
		{"slice address 0.0.0.0", func(s *Service) { s.Slices[0].Endpoints[0].Address = addr("0.0.0.0") }, "0.0.0.0"},
		{"slice address of another family", func(s *Service) { s.Slices[0].Endpoints[0].Address = addr("fd00::1") }, "fd00::1"},
		{"slice without family", func(s *Service) { s.Slices[0].Family = 0 }, "family"},
		{"ipFamilies twice", func(s *Service) { s.IPFamilies = []IPFamily{IPv4, IPv4} }, "ipFamilies"},
		{"ExternalName without a name", func(s *Service) { *s = Service{Namespace: "a", Name: "b", Type: ExternalName} }, "externalName"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sample()
			tc.edit(&s)
			err := s.Validate()
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Validate() = %v; want ErrInvalid naming %q", err, tc.msg)
			}
		})
	}
	st := State{Services: []*Service{{Namespace: "b", Name: "x"}, {Namespace: "a", Name: "x"}}}
	if err := st.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unsorted State Validate = %v; want ErrInvalid", err)
	}
	if err := (&State{Services: []*Service{nil}}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("State with a nil Service: Validate = %v; want ErrInvalid", err)
	}
	st.Sort()
	if err := st.Validate(); err != nil {
		t.Fatalf("sorted State Validate = %v", err)
	}
}

func TestVocabulary(t *testing.T) {
	for _, p := range []Protocol{TCP, UDP, SCTP} {
		if got, err := ParseProtocol(p.String()); err != nil || got != p {
			t.Errorf("ParseProtocol(%q) = %v, %v", p, got, err)
		}
	}
	if p, err := ParseProtocol(""); err != nil || p != TCP {
		t.Errorf(`ParseProtocol("") = %v, %v; want TCP`, p, err)
	}
	if _, err := ParseProtocol("tcp"); err == nil || !strings.Contains(err.Error(), `"tcp"`) {
		t.Errorf(`ParseProtocol("tcp") = %v; want an error naming it`, err)
	}
	if s := Protocol(7).String(); s != "Protocol(7)" {
		t.Errorf("Protocol(7).String() = %q", s)
	}
	if p, err := ParseTrafficPolicy("Local"); err != nil || p != PolicyLocal || p.String() != "Local" {
		t.Errorf(`ParseTrafficPolicy("Local") = %v, %v`, p, err)
	}
	if f := IPFamilyOf(netip.MustParseAddr("::ffff:10.0.0.1")); f != IPv4 {
		t.Errorf("IPFamilyOf(mapped) = %v; want IPv4", f)
	}
	if f := IPFamilyOf(netip.Addr{}); f != 0 || f.String() != "" {
		t.Errorf("IPFamilyOf(invalid) = %v", f)
	}
	if _, err := IPFamily(5).MarshalText(); err == nil {
		t.Error("IPFamily(5).MarshalText succeeded")
	}
	if ty, err := ParseServiceType(""); err != nil || ty != ClusterIP {
		t.Errorf(`ParseServiceType("") = %v, %v`, ty, err)
	}
}

func TestLookupAndDiff(t *testing.T) {
	st := State{Services: []*Service{{Namespace: "a", Name: "x", Revision: 1}, {Namespace: "b", Name: "y"}}}
	if s := st.Lookup(Ref{"b", "y"}); s == nil || s.Name != "y" {
		t.Fatalf("Lookup(b/y) = %v", s)
	}
	if s := st.Lookup(Ref{"b", "z"}); s != nil {
		t.Fatalf("Lookup(b/z) = %v; want nil", s)
	}
	// An unchanged revision is not a change; a zero revision always is.
	changed, removed := Diff(&st, &st)
	if len(changed) != 1 || changed[0].Name != "y" || len(removed) != 0 {
		t.Fatalf("Diff(st, st) = %v, %v; want only the zero-revision service", changed, removed)
	}
}

func TestLatestWaitsAndNeverGoesBack(t *testing.T) {
	var l Latest
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan uint64)
	go func() {
		st, err := l.Next(ctx, 0)
		if err != nil {
			got <- 0
			return
		}
		got <- st.Version
	}()
	if err := l.Publish(ctx, &State{Version: 3}); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != 3 {
		t.Fatalf("Next after Publish(3) = %d", v)
	}
	_ = l.Publish(ctx, &State{Version: 2})
	if st, _ := l.Next(ctx, 0); st.Version != 3 {
		t.Fatalf("an older Publish replaced the newest: %d", st.Version)
	}
	cancel()
	if _, err := l.Next(ctx, 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next on a cancelled ctx = %v", err)
	}
}

// TestUnmarshalServiceCompact: a node keeps every decoded Service for as long
// as it runs, so decoding sizes each array exactly and keeps one copy of the
// strings endpoints repeat (node names, zones, namespaces, port names).
func TestUnmarshalServiceCompact(t *testing.T) {
	s := sample()
	sl := &s.Slices[0]
	for i := range 4 {
		e := sl.Endpoints[0]
		e.Address = netip.AddrFrom4([4]byte{10, 244, 1, byte(3 + i)})
		e.TargetRef.Name = "web-" + string(rune('1'+i))
		sl.Endpoints = append(sl.Endpoints, e)
	}
	b, err := MarshalService(&s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalService(b)
	if err != nil {
		t.Fatal(err)
	}
	eps := got.Slices[0].Endpoints
	for _, c := range []struct {
		name          string
		len, capacity int
	}{
		{"Ports", len(got.Ports), cap(got.Ports)},
		{"Slices", len(got.Slices), cap(got.Slices)},
		{"Slices[0].Ports", len(got.Slices[0].Ports), cap(got.Slices[0].Ports)},
		{"Slices[0].Endpoints", len(eps), cap(eps)},
	} {
		if c.len != c.capacity {
			t.Errorf("%s: len %d, cap %d; want them equal", c.name, c.len, c.capacity)
		}
	}
	for _, c := range []struct {
		name string
		of   func(endpoints.Endpoint) string
	}{
		{"NodeName", func(e endpoints.Endpoint) string { return e.NodeName }},
		{"Zone", func(e endpoints.Endpoint) string { return e.Zone }},
		{"TargetRef.Namespace", func(e endpoints.Endpoint) string { return e.TargetRef.Namespace }},
		{"Hints.ForZone", func(e endpoints.Endpoint) string { return e.Hints.ForZone }},
	} {
		for i := 1; i < len(eps); i++ {
			if unsafe.StringData(c.of(eps[i])) != unsafe.StringData(c.of(eps[0])) {
				t.Errorf("endpoint %d: %s %q is a copy of endpoint 0's; want one shared string", i, c.name, c.of(eps[i]))
			}
		}
	}
}
