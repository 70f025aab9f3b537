package source

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
)

// goodYAML is the world every bad input is added to: web (a ClusterIP
// service with a pod) and lb (a LoadBalancer service with an external IP).
const goodYAML = webYAML + `---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: shop}
spec:
  type: LoadBalancer
  externalIPs: [198.51.100.1]
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
`

// pipeline is the composition run step by step: a manifests Loader, the
// control plane, and a node agent on a fake dataplane with a DNS catalog.
type pipeline struct {
	dir     string
	loader  *manifests.Loader
	cp      *controlplane.ControlPlane
	fake    *dataplane.Fake
	catalog *dnsname.Catalog
	agent   *nodeagent.Agent
	st      *resolved.State
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	p := &pipeline{dir: t.TempDir(), fake: dataplane.NewFake(dataplane.Options{}), catalog: dnsname.NewCatalog(dnsname.CatalogOptions{})}
	anywhere := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	p.loader = manifests.NewLoader(manifests.Config{Dir: p.dir, ExternalIPCIDRs: anywhere})
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
	if p.cp, err = controlplane.New(controlplane.Config{Allocator: alloc, ExternalIPs: anywhere}); err != nil {
		t.Fatal(err)
	}
	if p.agent, err = nodeagent.New(nodeagent.Config{Node: "node-1", Dataplane: p.fake, Catalog: p.catalog}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pipeline) write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sync loads, resolves and applies once, returning the manifest errors,
// the control plane's and the agent's.
func (p *pipeline) sync(t *testing.T) (loadErrs []error, resolveErr, applyErr error) {
	t.Helper()
	set, errs := p.loader.Load()
	p.st, resolveErr = p.cp.Resolve(Input(&set))
	return errs, resolveErr, p.agent.Apply(context.Background(), p.st)
}

func (p *pipeline) answers(name string) bool {
	ans, _ := p.catalog.Lookup(name+".shop.svc.cluster.local.", dnsname.TypeA)
	return len(ans.Records) > 0
}

// TestEightBadInputs (issue 13): each of the eight inputs that passed the
// manifest validation but broke the dataplane's batch is now caught —
// per object by the manifest validation, with file, document and field;
// across objects (a clash with an address the control plane allocated) by
// the control plane, which refuses the newcomer — and every other service
// stays programmed and answers in DNS.
func TestEightBadInputs(t *testing.T) {
	svc := func(extra string) string {
		return "apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: shop}\nspec:\n  selector: {app: bad}\n" + extra
	}
	port := "  ports: [{name: http, port: 80}]\n"
	pod := func(ip string) string {
		return "---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad-0, namespace: shop, labels: {app: bad}}\nspec: {containers: [{name: c, image: i}]}\nstatus: {phase: Running, podIP: " + ip + ", conditions: [{type: Ready, status: \"True\"}]}\n"
	}
	slice := func(addr, port string) string {
		return "apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: shop}\nspec:\n  ports: [{name: http, port: 80}]\n---\n" +
			"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: bad-1, namespace: shop, labels: {kubernetes.io/service-name: bad}}\n" +
			"addressType: IPv4\nendpoints: [{addresses: [" + addr + "]}]\nports: [{name: http" + port + "}]\n"
	}
	tests := []struct {
		name string
		// yaml is bad.yaml's content; CLUSTERIP and LBIP stand for web's
		// ClusterIP and lb's LoadBalancer address, allocated by the control
		// plane.
		yaml     string
		doc      int
		field    string // the manifest error's field; empty: the control plane refuses
		sentinel error
	}{
		{"externalIPs 0.0.0.0", svc("  externalIPs: [0.0.0.0]\n" + port), 0, "spec.externalIPs[0]", manifests.ErrInvalid},
		{"external IP on another service's ClusterIP:port", svc("  externalIPs: [CLUSTERIP]\n" + port), 0, "", controlplane.ErrConflict},
		{"external IP on another service's LoadBalancer address:port", svc("  externalIPs: [LBIP]\n" + port), 0, "", controlplane.ErrConflict},
		{"two services on one external IP:port", svc("  externalIPs: [198.51.100.1]\n" + port), 0, "spec.externalIPs[0]", manifests.ErrConflict},
		{"two named ports on one port number", svc("  ports: [{name: http, port: 80}, {name: web, port: 80}]\n"), 0, "spec.ports[1].port", manifests.ErrInvalid},
		{"pod IP 0.0.0.0", svc(port) + pod("0.0.0.0"), 1, "status.podIP", manifests.ErrInvalid},
		{"EndpointSlice port without a number", slice("10.244.9.9", ""), 1, "ports[0].port", manifests.ErrInvalid},
		{"slice address 0.0.0.0", slice("0.0.0.0", ", port: 80"), 1, "endpoints[0].addresses[0]", manifests.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipeline(t)
			p.write(t, "good.yaml", goodYAML)
			if errs, rerr, aerr := p.sync(t); len(errs) > 0 || rerr != nil || aerr != nil {
				t.Fatalf("the good world: %v %v %v", errs, rerr, aerr)
			}
			web, lb := p.st.Lookup(webRef), p.st.Lookup(resolved.Ref{Namespace: "shop", Name: "lb"})
			p.write(t, "bad.yaml", strings.NewReplacer("CLUSTERIP", web.ClusterIPs[0].String(), "LBIP", lb.LoadBalancerIPs[0].String()).Replace(tc.yaml))
			errs, rerr, aerr := p.sync(t)
			if tc.field != "" {
				var me *manifests.Error
				if len(errs) != 1 || !errors.As(errs[0], &me) || me.File != "bad.yaml" || me.Doc != tc.doc || me.Field != tc.field || !errors.Is(me, tc.sentinel) {
					t.Fatalf("manifest errors %v; want one for bad.yaml document %d field %s (%v)", errs, tc.doc, tc.field, tc.sentinel)
				}
			} else if len(errs) > 0 || !errors.Is(rerr, tc.sentinel) || p.cp.Health().Refused[resolved.Ref{Namespace: "shop", Name: "bad"}] == nil {
				t.Fatalf("manifest errors %v, Resolve %v; want shop/bad refused by the control plane (%v)", errs, rerr, tc.sentinel)
			}
			if aerr != nil {
				t.Fatalf("Apply = %v; the node should have nothing to refuse", aerr)
			}
			dump := p.fake.Dump()
			for _, a := range []string{web.ClusterIPs[0].String(), lb.ClusterIPs[0].String(), lb.LoadBalancerIPs[0].String(), "198.51.100.1", "10.244.1.2"} {
				if !strings.Contains(dump, a) {
					t.Errorf("the table lost %s of a good service:\n%s", a, dump)
				}
			}
			if !p.answers("web") || !p.answers("lb") {
				t.Error("DNS stopped answering a good service")
			}
			if ok, why := p.cp.Health().OK(); !ok {
				t.Errorf("control plane unhealthy: %s", why)
			}
			if ok, why := p.agent.Health().OK(); !ok {
				t.Errorf("node unhealthy: %s", why)
			}
		})
	}
}

// TestLoadBalancerIngressCarried: status.loadBalancer.ingress in a
// manifest, as an outside load-balancer controller writes it, becomes the
// service's LoadBalancer address all the way to the node's rules.
func TestLoadBalancerIngressCarried(t *testing.T) {
	p := newPipeline(t)
	p.write(t, "web.yaml", strings.Replace(webYAML, "  ports:", "  allocateLoadBalancerNodePorts: false\n  ports:", 1)+
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: shop}\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n"+
		"  ports: [{name: http, port: 80, targetPort: 8080}]\nstatus: {loadBalancer: {ingress: [{ip: 192.0.2.77}, {hostname: lb.example.com}]}}\n")
	if errs, rerr, aerr := p.sync(t); len(errs) > 0 || rerr != nil || aerr != nil {
		t.Fatalf("sync: %v %v %v", errs, rerr, aerr)
	}
	ext := p.st.Lookup(resolved.Ref{Namespace: "shop", Name: "ext"})
	if want := []netip.Addr{netip.MustParseAddr("192.0.2.77")}; !slices.Equal(ext.LoadBalancerIPs, want) {
		t.Fatalf("ext's LoadBalancerIPs = %v; want the status ingress %v", ext.LoadBalancerIPs, want)
	}
	if !strings.Contains(p.fake.Dump(), "192.0.2.77") {
		t.Errorf("the ingress address is not programmed:\n%s", p.fake.Dump())
	}
	// allocateLoadBalancerNodePorts: false is carried too.
	if web := p.st.Lookup(webRef); web.Ports[0].NodePort != 0 {
		t.Errorf("web has node port %d with allocateLoadBalancerNodePorts: false", web.Ports[0].NodePort)
	}
}
