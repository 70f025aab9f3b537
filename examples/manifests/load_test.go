package manifests

import (
	"errors"
	"fmt"
	"github.com/svcnet/svcnet/endpoints"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadTestdata(t *testing.T) {
	set, errs := NewLoader(Config{Dir: "testdata/manifests"}).Load()
	if len(errs) != 0 {
		t.Fatalf("Load errors: %v", errs)
	}
	checkLoaded(t, set)
	if len(set.Services) != 5 || len(set.Pods) != 3 || len(set.EndpointSlices) != 1 || len(set.Nodes) != 1 {
		t.Fatalf("Load = %d services, %d pods, %d slices, %d nodes; want 5, 3, 1, 1",
			len(set.Services), len(set.Pods), len(set.EndpointSlices), len(set.Nodes))
	}
	s := set.Services[0]
	want := ServicePort{Protocol: endpoints.TCP, Port: 80, TargetPort: TargetPort{Number: 80}}
	if s.Key() != "default/my-service" || s.Type != ClusterIP || !slices.Equal(s.Ports, []ServicePort{want}) || s.Source != (Source{"service.yaml", 0}) {
		t.Errorf("my-service = %+v; want default/my-service, ClusterIP, %+v, service.yaml document 0", s, want)
	}
	if tp := set.Services[1].Ports[0].TargetPort; tp.Name != "http" || set.Services[1].Type != NodePort || set.Services[1].Ports[0].NodePort != 30080 {
		t.Errorf("web = %+v; want NodePort 30080 to targetPort http", set.Services[1])
	}
	if !set.Services[2].Headless || set.Services[3].ExternalName != "search.example.com" {
		t.Errorf("db headless = %v, search externalName = %q; want true, search.example.com", set.Services[2].Headless, set.Services[3].ExternalName)
	}
	p := set.Pods[0]
	if !p.Ready || !slices.Equal(p.IPs, []netip.Addr{netip.MustParseAddr("10.244.0.11")}) || p.Node != "node-a" || p.Ports[0] != (ContainerPort{Protocol: endpoints.TCP, Number: 80}) {
		t.Errorf("pod my-app-1 = %+v; want ready on node-a at 10.244.0.11 with port 80", p)
	}
	sl := set.EndpointSlices[0]
	if sl.Service != "legacy" || sl.Family != endpoints.IPv4 || sl.Ports[0] != (SlicePort{Name: "http", Protocol: endpoints.TCP, Port: 9090}) ||
		!sl.Endpoints[0].Ready || !sl.Endpoints[0].Serving || sl.Endpoints[0].Addresses[0] != netip.MustParseAddr("192.0.2.50") {
		t.Errorf("slice = %+v; want legacy IPv4 http/9090 with ready 192.0.2.50", sl)
	}
	if n := set.Nodes[0]; n.Zone != "zone-a" || n.Namespace != "" {
		t.Errorf("node = %+v; want zone-a, no namespace", n)
	}
}

func TestServiceFields(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", `apiVersion: v1
kind: Service
metadata:
  name: full
  namespace: shop
  annotations: {metallb.universe.tf/loadBalancerIPs: "203.0.113.7"}
spec:
  type: LoadBalancer
  selector: {app: web}
  clusterIPs: [10.96.0.10, "fd00::10"]
  ipFamilies: [IPv4, IPv6]
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
  - {name: dns, port: 53, protocol: UDP}
  externalIPs: [192.0.2.10]
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  healthCheckNodePort: 32000
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  loadBalancerSourceRanges: [198.51.100.7/24]
  publishNotReadyAddresses: true
  trafficDistribution: PreferClose
  allocateLoadBalancerNodePorts: false
status:
  loadBalancer: {ingress: [{ip: 203.0.113.7}, {hostname: lb.example.com}]}
`)
	set, errs := NewLoader(Config{Dir: dir, ExternalIPCIDRs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}).Load()
	if len(errs) != 0 || len(set.Services) != 1 {
		t.Fatalf("Load = %v, %v; want one service", serviceNames(set), errs)
	}
	s := set.Services[0]
	ips := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, x := range s {
			out = append(out, netip.MustParseAddr(x))
		}
		return out
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"type", s.Type, LoadBalancer},
		{"clusterIPs", s.ClusterIPs, ips("10.96.0.10", "fd00::10")},
		{"families", s.IPFamilies, []endpoints.IPFamily{endpoints.IPv4, endpoints.IPv6}},
		{"policy", s.IPFamilyPolicy, RequireDualStack},
		{"ports", s.Ports, []ServicePort{{Name: "http", Port: 80, TargetPort: TargetPort{Number: 8080}, NodePort: 30080}, {Name: "dns", Protocol: endpoints.UDP, Port: 53}}},
		{"externalIPs", s.ExternalIPs, ips("192.0.2.10")},
		{"lbIPs", s.LoadBalancerIPs, ips("203.0.113.7")},
		{"ingress", s.LoadBalancerIngress, ips("203.0.113.7")},
		{"ranges", s.SourceRanges, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
		{"affinity", s.AffinityTimeout, time.Minute},
		{"etp", s.ExternalTrafficPolicy, endpoints.PolicyLocal},
		{"itp", s.InternalTrafficPolicy, endpoints.PolicyLocal},
		{"hc", s.HealthCheckNodePort, uint16(32000)},
		{"pna", s.PublishNotReadyAddresses, true},
		{"td", s.TrafficDistribution, "PreferClose"},
		{"noLBNodePorts", s.NoLoadBalancerNodePorts, true},
		{"selector", s.Selector["app"], "web"},
	}
	for _, c := range checks {
		if !equalAny(c.got, c.want) {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []netip.Addr:
		return slices.Equal(x, b.([]netip.Addr))
	case []endpoints.IPFamily:
		return slices.Equal(x, b.([]endpoints.IPFamily))
	case []ServicePort:
		return slices.Equal(x, b.([]ServicePort))
	case []netip.Prefix:
		return slices.Equal(x, b.([]netip.Prefix))
	}
	return a == b
}

// TestRefusedAlone holds issue 13's rule "one bad object never blocks the
// rest": each input the dataplane would refuse is refused at load, with
// file, document and field, while the good documents before and after it
// in the same file, and the other files, still load. Rules follow
// Kubernetes 1.37's API validation where it has one, and the dataplane's
// limits where Kubernetes is looser (a slice port without a number).
func TestRefusedAlone(t *testing.T) {
	const pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: x}}\nstatus: {podIP: 10.244.0.5}\n"
	const slice = "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: x}}\naddressType: IPv4\n"
	tests := []struct {
		name    string
		doc     string // document 1 of bad.yaml, between two good services
		field   string
		wantErr error
		want    string // in the message
	}{
		{"externalIPs unspecified", svc("bad", "  externalIPs: [0.0.0.0]\n"), "spec.externalIPs[0]", ErrInvalid, "unspecified"},
		{"externalIPs multicast", svc("bad", "  externalIPs: [224.0.0.1]\n"), "spec.externalIPs[0]", ErrInvalid, "multicast"},
		{"externalIPs loopback", svc("bad", "  externalIPs: [127.0.0.1]\n"), "spec.externalIPs[0]", ErrInvalid, "loopback"},
		{"externalIPs link-local", svc("bad", "  externalIPs: ['fe80::1']\n"), "spec.externalIPs[0]", ErrInvalid, "link-local"},
		{"loadBalancerIP unspecified", svc("bad", "  type: LoadBalancer\n  loadBalancerIP: 0.0.0.0\n"), "spec.loadBalancerIP", ErrInvalid, "unspecified"},
		{"ingress broadcast", svc("bad", "  type: LoadBalancer\nstatus: {loadBalancer: {ingress: [{ip: 255.255.255.255}]}}\n"), "status.loadBalancer.ingress[0].ip", ErrInvalid, "not a unicast"},
		{"externalIP is another service's ClusterIP", svc("bad", "  externalIPs: [192.0.2.1]\n"), "spec.externalIPs[0]", ErrConflict, "default/good-a"},
		{"externalIP is another service's LoadBalancer address", svc("bad", "  externalIPs: [192.0.2.2]\n"), "spec.externalIPs[0]", ErrConflict, "default/good-b"},
		{"two services on one external IP:port", svc("bad", "  externalIPs: [192.0.2.3]\n"), "spec.externalIPs[0]", ErrConflict, "192.0.2.3:80/TCP"},
		{"two ports on one number and protocol", svc("bad", "  ports:\n  - {name: a, port: 80}\n  - {name: b, port: 80}\n"), "spec.ports[1].port", ErrInvalid, "80/TCP is also spec.ports[0]"},
		{"unnamed ports", "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 80}, {port: 81}]}\n", "spec.ports[0].name", ErrInvalid, "more than one port"},
		{"pod IP unspecified", strings.Replace(pod, "10.244.0.5", "0.0.0.0", 1), "status.podIP", ErrInvalid, "unspecified"},
		{"slice port without number", slice + "ports: [{name: http}]\n", "ports[0].port", ErrInvalid, "required"},
		{"slice address unspecified", slice + "endpoints: [{addresses: [0.0.0.0]}]\n", "endpoints[0].addresses[0]", ErrInvalid, "unspecified"},
		{"selector key", svc("bad", "  selector: {bad key!: x}\n"), "spec.selector", ErrInvalid, `"bad key!"`},
		{"selector value", svc("bad", "  selector: {app: 'a b'}\n"), "spec.selector", ErrInvalid, `"a b"`},
		{"label key", strings.Replace(pod, "app: x", "'bad key!': x", 1), "metadata.labels", ErrInvalid, `"bad key!"`},
		{"externalIP not allowed", svc("bad", "  externalIPs: [198.51.100.1]\n"), "spec.externalIPs[0]", ErrExternalIPNotAllowed, "CVE-2020-8554"},
		{"externalIP is its own ClusterIP", svc("bad", "  clusterIP: 192.0.2.9\n  externalIPs: [192.0.2.9]\n"), "spec.externalIPs[0]", ErrConflict, "this service's"},
		{"ClusterIP held by another service", svc("bad", "  clusterIP: 192.0.2.1\n"), "spec.clusterIPs[0]", ErrConflict, "default/good-a"},
		{"node port held by another service", svc("bad", "  type: NodePort\n  ports:\n  - {port: 81, nodePort: 30001}\n"), "spec.ports[0].nodePort", ErrConflict, "30001/TCP"},
		{"port out of range", svc("bad", "  ports:\n  - port: 70000\n"), "spec.ports[0].port", ErrInvalid, "not in 1-65535"},
		{"ClusterIP not an address", svc("bad", "  clusterIP: 10.96.0.300\n"), "spec.clusterIP", ErrInvalid, "not an IP"},
		{"wrong kind", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", "kind", ErrInvalid, "unsupported kind"},
		{"type mismatch", svc("bad", "  ports:\n  - port: eighty\n"), "spec.ports.port", ErrInvalid, "cannot use"},
		{"invalid YAML", "kind: [\n", "", ErrInvalid, "invalid YAML"},
	}
	cidrs := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "a.yaml", svc("good-a", "  clusterIP: 192.0.2.1\n  type: NodePort\n  ports:\n  - {port: 80, nodePort: 30001}\n")+
				"---\n"+svc("good-b", "  type: LoadBalancer\n  loadBalancerIP: 192.0.2.2\n  externalIPs: [192.0.2.3]\n"))
			write(t, dir, "bad.yaml", svc("before", "")+"---\n"+tt.doc+"---\n"+svc("after", ""))
			write(t, dir, "c.yaml", strings.Replace(pod, "name: p,", "name: q,", 1))
			set, errs := NewLoader(Config{Dir: dir, ExternalIPCIDRs: cidrs}).Load()
			if len(errs) != 1 {
				t.Fatalf("Load errors = %v; want one", errs)
			}
			var e *Error
			if !errors.As(errs[0], &e) || !errors.Is(errs[0], tt.wantErr) || e.File != "bad.yaml" || e.Doc != 1 || e.Field != tt.field || !strings.Contains(e.Error(), tt.want) {
				t.Errorf("error = %q; want bad.yaml document 1, field %q, wrapping %v, containing %q", errs[0], tt.field, tt.wantErr, tt.want)
			}
			checkLoaded(t, set)
			got := serviceNames(set)
			for _, want := range []string{"default/good-a", "default/good-b", "default/before", "default/after"} {
				if !slices.Contains(got, want) {
					t.Errorf("services = %v; want %s loaded too", got, want)
				}
			}
			if !slices.ContainsFunc(set.Pods, func(p Pod) bool { return p.Source.File == "c.yaml" }) {
				t.Errorf("pods = %v; want c.yaml's pod loaded too", set.Pods)
			}
		})
	}
}

// TestDocumentSeparators follows Kubernetes' YAML reader (apimachinery
// v0.37.2): a line beginning with "---" separates documents when nothing but
// spaces or a comment follows; anything else after it is an invalid
// separator, reported, and the file ends there.
func TestDocumentSeparators(t *testing.T) {
	for _, tt := range []struct {
		name, sep string
		want      []string // services loaded
		bad       bool
	}{
		{"bare", "---\n", []string{"default/a", "default/b"}, false},
		{"trailing spaces", "---  \t\n", []string{"default/a", "default/b"}, false},
		{"comment", "--- # next\n", []string{"default/a", "default/b"}, false},
		{"comment without a space", "---# next\n", []string{"default/a", "default/b"}, false},
		{"CRLF", "---\r\n", []string{"default/a", "default/b"}, false},
		{"content after it", "--- foo\n", []string{"default/a"}, true},
		{"a fourth dash", "----\n", []string{"default/a"}, true},
		{"a tag after it", "--- !!map\n", []string{"default/a"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "f.yaml", svc("a", "")+tt.sep+svc("b", ""))
			set, errs := NewLoader(Config{Dir: dir}).Load()
			if got := serviceNames(set); !slices.Equal(got, tt.want) {
				t.Errorf("services = %v; want %v", got, tt.want)
			}
			var e *Error
			switch {
			case !tt.bad && len(errs) > 0:
				t.Errorf("Load errors = %v; want none", errs)
			case tt.bad && (len(errs) != 1 || !errors.As(errs[0], &e) || !errors.Is(e, ErrInvalid) ||
				e.Doc != 1 || !strings.Contains(e.Error(), "invalid YAML document separator")):
				t.Errorf("Load errors = %v; want one, for document 1: an invalid separator", errs)
			}
		})
	}
}

// TestYAMLBombs: an alias bomb ("billion laughs") and deep nesting fit in
// the size limit but would cost gigabytes or the stack; both are refused
// as invalid YAML, and the next document still loads.
func TestYAMLBombs(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&bomb, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	deep := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nx: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n"
	for name, doc := range map[string]string{"alias bomb": bomb.String(), "deep nesting": deep} {
		dir := t.TempDir()
		write(t, dir, "f.yaml", doc+"---\n"+svc("after", ""))
		set, errs := NewLoader(Config{Dir: dir}).Load()
		if len(errs) != 1 || !errors.Is(errs[0], ErrInvalid) || !strings.Contains(errs[0].Error(), "invalid YAML") || len(set.Services) != 1 {
			t.Errorf("%s: Load = %v, %v; want it refused as invalid YAML and the service after it loaded", name, serviceNames(set), errs)
		}
	}
}

// TestErrorsPerFileBounded: a file of many bad documents reports the first
// maxErrorsPerFile and one summary, and its good documents still load.
func TestErrorsPerFileBounded(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "f.yaml", strings.Repeat("kind: [\n---\n", 1000)+svc("after", ""))
	set, errs := NewLoader(Config{Dir: dir}).Load()
	if len(errs) != maxErrorsPerFile+1 || !strings.Contains(errs[maxErrorsPerFile].Error(), "900 more errors") || len(set.Services) != 1 {
		t.Errorf("Load = %v, %d errors (last %v); want after loaded, %d errors and a summary of 900 more", serviceNames(set), len(errs), errs[len(errs)-1], maxErrorsPerFile+1)
	}
}
