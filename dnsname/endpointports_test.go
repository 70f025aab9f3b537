package dnsname

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// srvLines renders the SRV records of rs whose name starts with prefix.
func srvLines(rs []Record, prefix string) []string {
	var out []string
	for _, r := range rs {
		if r.Type == TypeSRV && strings.HasPrefix(r.Name, prefix) {
			out = append(out, strings.Join(strings.Fields(r.String()), " "))
		}
	}
	return out
}

// TestEndpointPorts pins the SRV records of headless services whose
// endpoints carry their own ports, as EndpointSlices grouped by port set
// do: each endpoint's SRV record for port N carries its own port N, and
// an endpoint without port N has none.
func TestEndpointPorts(t *testing.T) {
	http := Port{Name: "http", Port: 80}
	web := func(port uint16) []EndpointPort { return []EndpointPort{{Name: "http", Protocol: TCP, Port: port}} }
	tests := []struct {
		name   string
		s      Service
		prefix string // which SRV names to compare
		want   []string
	}{
		{
			name: "two port sets",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{http}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: web(8080)},
				{Addrs: addrs("10.0.0.2"), Hostname: "b", Ready: true, Ports: web(9090)},
			}},
			prefix: "_http.",
			want: []string{
				"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 50 8080 a.h.ns.svc.cluster.local.",
				"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 50 9090 b.h.ns.svc.cluster.local.",
			},
		},
		{
			name: "endpoint without the port has no SRV record, and does not share the weight",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{http, {Name: "metrics", Port: 9100}}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: []EndpointPort{{Name: "http", Port: 8080}, {Name: "metrics", Port: 9100}}},
				{Addrs: addrs("10.0.0.2"), Hostname: "b", Ready: true, Ports: web(8080)},
				{Addrs: addrs("10.0.0.3"), Hostname: "c", Ready: true, Ports: web(8080)},
			}},
			prefix: "_metrics.",
			want:   []string{"_metrics._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 100 9100 a.h.ns.svc.cluster.local."},
		},
		{
			name: "service name SRV lists each endpoint's ports",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{http, {Name: "metrics", Port: 9100}}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: []EndpointPort{{Name: "http", Port: 8080}, {Name: "metrics", Port: 9101}}},
				{Addrs: addrs("10.0.0.2"), Hostname: "b", Ready: true, Ports: web(8081)},
			}},
			prefix: "h.",
			want: []string{
				"h.ns.svc.cluster.local. 5 IN SRV 0 33 8080 a.h.ns.svc.cluster.local.",
				"h.ns.svc.cluster.local. 5 IN SRV 0 33 8081 b.h.ns.svc.cluster.local.",
				"h.ns.svc.cluster.local. 5 IN SRV 0 33 9101 a.h.ns.svc.cluster.local.",
			},
		},
		{
			name: "endpoint without ports takes the service port",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{http}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: web(8080)},
				{Addrs: addrs("10.0.0.2"), Ready: true},
			}},
			prefix: "_http.",
			want: []string{
				"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 50 8080 a.h.ns.svc.cluster.local.",
				"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 50 80 10-0-0-2.h.ns.svc.cluster.local.",
			},
		},
		{
			name: "protocol must match, empty meaning TCP",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{{Name: "dns", Protocol: UDP, Port: 53}}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: []EndpointPort{{Name: "dns", Protocol: UDP, Port: 5353}}},
				{Addrs: addrs("10.0.0.2"), Hostname: "b", Ready: true, Ports: []EndpointPort{{Name: "dns", Port: 5353}}},
			}},
			prefix: "_dns.",
			want:   []string{"_dns._udp.h.ns.svc.cluster.local. 5 IN SRV 0 100 5353 a.h.ns.svc.cluster.local."},
		},
		{
			name: "no endpoint has the port: no SRV name",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{http, {Name: "admin", Port: 9000}}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: web(8080)},
			}},
			prefix: "_admin.",
			want:   nil,
		},
		{
			name: "one pod in the IPv4 and the IPv6 slice: one record per distinct port",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{http}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: web(8080)},
				{Addrs: addrs("10.0.0.2"), Hostname: "b", Ready: true, Ports: web(8080)},
				{Addrs: addrs("fd00::1"), Hostname: "a", Ready: true, Ports: web(8080)},
				{Addrs: addrs("fd00::2"), Hostname: "b", Ready: true, Ports: web(8081)},
			}},
			prefix: "_http.",
			want: []string{
				"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 33 8080 a.h.ns.svc.cluster.local.",
				"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 33 8080 b.h.ns.svc.cluster.local.",
				"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 33 8081 b.h.ns.svc.cluster.local.",
			},
		},
		{
			name: "port left unset: the service port stands in",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{http, {Name: "dns", Protocol: UDP, Port: 53}}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: []EndpointPort{{Name: "http"}}},
			}},
			prefix: "h.",
			want:   []string{"h.ns.svc.cluster.local. 5 IN SRV 0 100 80 a.h.ns.svc.cluster.local."},
		},
		{
			name: "zero EndpointPort: the unnamed TCP port, number unset",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{{Port: 80}}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: []EndpointPort{{}}},
			}},
			prefix: "h.",
			want:   []string{"h.ns.svc.cluster.local. 5 IN SRV 0 100 80 a.h.ns.svc.cluster.local."},
		},
		{
			name: "unnamed port of a one-port service",
			s: Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{{Port: 80}}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Hostname: "a", Ready: true, Ports: []EndpointPort{{Port: 8080}}},
			}},
			prefix: "h.",
			want:   []string{"h.ns.svc.cluster.local. 5 IN SRV 0 100 8080 a.h.ns.svc.cluster.local."},
		},
		{
			name: "ClusterIP services ignore endpoint ports",
			s: Service{Namespace: "ns", Name: "c", ClusterIPs: addrs("10.96.0.1"), Ports: []Port{http}, Endpoints: []Endpoint{
				{Addrs: addrs("10.0.0.1"), Ready: true, Ports: web(8080)},
			}},
			prefix: "_http.",
			want:   []string{"_http._tcp.c.ns.svc.cluster.local. 5 IN SRV 0 100 80 c.ns.svc.cluster.local."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := RecordSet(tt.s, CatalogOptions{})
			if err != nil {
				t.Fatalf("RecordSet() = %v", err)
			}
			if got := srvLines(rs, tt.prefix); !slices.Equal(got, tt.want) {
				t.Errorf("RecordSet() SRV %s* = %q; want %q", tt.prefix, got, tt.want)
			}
			// The catalog answers the same records.
			c := NewCatalog(CatalogOptions{})
			mustSet(t, c, tt.s)
			var got []string
			for _, name := range uniqueNames(rs) {
				if !strings.HasPrefix(name, tt.prefix) {
					continue
				}
				ans, res := c.Lookup(name, TypeSRV)
				if res == Success {
					got = append(got, render(ans.Records)...)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Lookup SRV %s* = %q; want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

func uniqueNames(rs []Record) []string {
	var names []string
	for _, r := range rs {
		if len(names) == 0 || names[len(names)-1] != r.Name {
			names = append(names, r.Name)
		}
	}
	return names
}

// TestEndpointPortsCatalog checks what the per-endpoint SRV records do to
// the rest of an answer: the additional section holds only the targets in
// the answer, endpoints without the port keep their address records, and
// a name that no endpoint serves is NXDOMAIN.
func TestEndpointPortsCatalog(t *testing.T) {
	c := NewCatalog(CatalogOptions{})
	mustSet(t, c, Service{Namespace: "ns", Name: "h", Type: Headless,
		Ports: []Port{{Name: "http", Port: 80}, {Name: "metrics", Port: 9100}, {Name: "admin", Port: 9000}},
		Endpoints: []Endpoint{
			{Addrs: addrs("10.0.0.1", "fd00::1"), Hostname: "a", Ready: true, Ports: []EndpointPort{{Name: "http", Port: 8080}, {Name: "metrics", Port: 9100}}},
			{Addrs: addrs("10.0.0.2"), Hostname: "b", Ready: true, Ports: []EndpointPort{{Name: "http", Port: 8080}}},
		}})
	runQueries(t, c, []query{
		{name: "SRV for a port every endpoint has", qname: "_http._tcp.h.ns.svc" + z, qtype: TypeSRV, want: Success, records: []string{
			"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 50 8080 a.h.ns.svc.cluster.local.",
			"_http._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 50 8080 b.h.ns.svc.cluster.local.",
		}, extra: []string{
			"a.h.ns.svc.cluster.local. 5 IN A 10.0.0.1",
			"a.h.ns.svc.cluster.local. 5 IN AAAA fd00::1",
			"b.h.ns.svc.cluster.local. 5 IN A 10.0.0.2",
		}},
		{name: "SRV for a port one endpoint has: extra of that target only", qname: "_metrics._tcp.h.ns.svc" + z, qtype: TypeSRV, want: Success,
			records: []string{"_metrics._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 100 9100 a.h.ns.svc.cluster.local."},
			extra:   []string{"a.h.ns.svc.cluster.local. 5 IN A 10.0.0.1", "a.h.ns.svc.cluster.local. 5 IN AAAA fd00::1"}},
		{name: "SRV for a port no endpoint has", qname: "_admin._tcp.h.ns.svc" + z, qtype: TypeSRV, want: NXDomain},
		{name: "endpoint without the port keeps its name", qname: "b.h.ns.svc" + z, qtype: TypeA, want: Success,
			records: []string{"b.h.ns.svc.cluster.local. 5 IN A 10.0.0.2"}},
		{name: "service A lists every endpoint", qname: "h.ns.svc" + z, qtype: TypeA, want: Success, records: []string{
			"h.ns.svc.cluster.local. 5 IN A 10.0.0.1",
			"h.ns.svc.cluster.local. 5 IN A 10.0.0.2",
		}},
	})
	// The ports change: the metrics SRV name goes, admin appears.
	mustSet(t, c, Service{Namespace: "ns", Name: "h", Type: Headless,
		Ports: []Port{{Name: "http", Port: 80}, {Name: "metrics", Port: 9100}, {Name: "admin", Port: 9000}},
		Endpoints: []Endpoint{
			{Addrs: addrs("10.0.0.1", "fd00::1"), Hostname: "a", Ready: true, Ports: []EndpointPort{{Name: "http", Port: 8080}, {Name: "admin", Port: 9001}}},
			{Addrs: addrs("10.0.0.2"), Hostname: "b", Ready: true, Ports: []EndpointPort{{Name: "http", Port: 8080}}},
		}})
	runQueries(t, c, []query{
		{name: "port gone", qname: "_metrics._tcp.h.ns.svc" + z, qtype: TypeSRV, want: NXDomain},
		{name: "port added", qname: "_admin._tcp.h.ns.svc" + z, qtype: TypeSRV, want: Success,
			records: []string{"_admin._tcp.h.ns.svc.cluster.local. 5 IN SRV 0 100 9001 a.h.ns.svc.cluster.local."}},
	})
}

func TestEndpointPortsInvalid(t *testing.T) {
	tests := []struct {
		name  string
		ports []EndpointPort
		want  error
	}{
		{"bad name", []EndpointPort{{Name: "Web", Port: 80}}, ErrInvalidLabel},
		{"duplicate name", []EndpointPort{{Name: "web", Port: 80}, {Name: "web", Protocol: UDP, Port: 81}}, ErrInvalidService},
		{"bad protocol", []EndpointPort{{Name: "web", Protocol: Protocol(9), Port: 80}}, ErrInvalidService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Service{Namespace: "ns", Name: "h", Type: Headless, Ports: []Port{{Name: "web", Port: 80}},
				Endpoints: []Endpoint{{Addrs: addrs("10.0.0.1"), Ready: true, Ports: tt.ports}}}
			if _, err := RecordSet(s, CatalogOptions{}); !errors.Is(err, tt.want) {
				t.Errorf("RecordSet(ports %+v) = %v; want %v", tt.ports, err, tt.want)
			}
		})
	}
	ok := []EndpointPort{{Name: "web", Port: 80}, {Name: "dns", Protocol: UDP, Port: 53}, {Protocol: SCTP, Port: 9}}
	s := Service{Namespace: "ns", Name: "h", Type: Headless, Endpoints: []Endpoint{{Addrs: addrs("10.0.0.1"), Ready: true, Ports: ok}}}
	if _, err := RecordSet(s, CatalogOptions{}); err != nil {
		t.Errorf("RecordSet(ports %+v) = %v; want nil", ok, err)
	}
}
