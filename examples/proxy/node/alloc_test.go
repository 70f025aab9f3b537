package node

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svcnet/svcnet/allocator"
)

func writeManifest(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func svcYAML(name, extra string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\n" + extra
}

func newTestProxy(t *testing.T, dir string, pool string) *Proxy {
	t.Helper()
	cfg := Config{Manifests: dir}
	if pool != "" {
		var err error
		if cfg.LBPool, err = ParsePool(pool); err != nil {
			t.Fatal(err)
		}
	}
	p, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func byName(views []ServiceView) map[string]ServiceView {
	out := map[string]ServiceView{}
	for _, v := range views {
		out[v.Name] = v
	}
	return out
}

func TestAllocation(t *testing.T) {
	dir := t.TempDir()
	writeManifest(t, dir, "a.yaml", strings.Join([]string{
		svcYAML("auto", "spec:\n  ports: [{port: 80}]\n"),
		svcYAML("fixed", "spec:\n  clusterIP: 10.96.0.42\n  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]\n"),
		svcYAML("clash", "spec:\n  clusterIP: 10.96.0.42\n  ports: [{port: 80}]\n"),
		svcYAML("outside", "spec:\n  clusterIP: 10.0.0.1\n  ports: [{port: 80}]\n"),
		svcYAML("portclash", "spec:\n  type: NodePort\n  ports: [{port: 81, nodePort: 30080}]\n"),
		svcYAML("lb", "spec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n"),
		svcYAML("lbfixed", "spec:\n  type: LoadBalancer\n  loadBalancerIP: 203.0.113.15\n  ports: [{port: 80}]\n"),
		svcYAML("lbclash", "spec:\n  type: LoadBalancer\n  loadBalancerIP: 203.0.113.15\n  ports: [{port: 443}]\n"),
		svcYAML("shared-a", "  annotations: {metallb.universe.tf/allow-shared-ip: k}\nspec:\n  type: LoadBalancer\n  loadBalancerIP: 203.0.113.12\n  ports: [{port: 80}]\n"),
		svcYAML("shared-b", "  annotations: {metallb.universe.tf/allow-shared-ip: k}\nspec:\n  type: LoadBalancer\n  loadBalancerIP: 203.0.113.12\n  ports: [{port: 443}]\n"),
		// Same key, a port already used on the address; then another key.
		svcYAML("shared-c", "  annotations: {metallb.universe.tf/allow-shared-ip: k}\nspec:\n  type: LoadBalancer\n  loadBalancerIP: 203.0.113.12\n  ports: [{port: 80}]\n"),
		svcYAML("shared-d", "  annotations: {metallb.universe.tf/allow-shared-ip: other}\nspec:\n  type: LoadBalancer\n  loadBalancerIP: 203.0.113.12\n  ports: [{port: 8080}]\n"),
	}, "---\n"))
	p := newTestProxy(t, dir, "203.0.113.10-203.0.113.20")
	views, problems, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	v := byName(views)
	wantProblems := map[string]string{"clash": "spec.clusterIP", "outside": "spec.clusterIP", "portclash": "spec.ports[0].nodePort", "lbclash": "spec.loadBalancerIP",
		"shared-c": "spec.loadBalancerIP", "shared-d": "spec.loadBalancerIP"}
	if len(problems) != len(wantProblems) {
		t.Errorf("problems = %v; want %d", problems, len(wantProblems))
	}
	for _, pr := range problems {
		var me *ManifestError
		if !errors.As(pr, &me) || !errors.Is(pr, ErrConflict) || me.File != "a.yaml" {
			t.Errorf("problem %v: want a *ManifestError for a.yaml wrapping ErrConflict", pr)
			continue
		}
		found := false
		for name, field := range wantProblems {
			if strings.HasPrefix(me.Reason, "service default/"+name+": ") && me.Field == field {
				found = true
			}
		}
		if !found {
			t.Errorf("unexpected problem %v", pr)
		}
	}
	for name := range wantProblems {
		if _, ok := v[name]; ok {
			t.Errorf("service %s in effect; want rejected", name)
		}
	}
	pfx := netip.MustParsePrefix("10.96.0.0/16")
	if a := v["auto"]; len(a.ClusterIPs) != 1 || !pfx.Contains(a.ClusterIPs[0]) {
		t.Errorf("auto ClusterIPs = %v; want one in %s", a.ClusterIPs, pfx)
	}
	if f := v["fixed"]; f.ClusterIPs[0] != netip.MustParseAddr("10.96.0.42") || f.Ports[0].NodePort != 30080 {
		t.Errorf("fixed = %v :%d; want 10.96.0.42 :30080", f.ClusterIPs, f.Ports[0].NodePort)
	}
	lb := v["lb"]
	if len(lb.LoadBalancerIPs) != 1 || lb.Ports[0].NodePort < 30000 {
		t.Errorf("lb = %v node port %d; want an ingress address and a node port", lb.LoadBalancerIPs, lb.Ports[0].NodePort)
	}
	if got := v["lbfixed"].LoadBalancerIPs; len(got) != 1 || got[0].String() != "203.0.113.15" {
		t.Errorf("lbfixed = %v; want 203.0.113.15", got)
	}
	if a, b := v["shared-a"].LoadBalancerIPs, v["shared-b"].LoadBalancerIPs; len(a) != 1 || len(b) != 1 || a[0] != b[0] {
		t.Errorf("shared = %v, %v; want one shared address", a, b)
	}
	// Dropping the holder frees its values for the one that wanted them.
	writeManifest(t, dir, "a.yaml", svcYAML("clash", "spec:\n  clusterIP: 10.96.0.42\n  ports: [{port: 80}]\n"))
	views, problems, _ = p.Build()
	if len(problems) != 0 || len(views) != 1 || views[0].ClusterIPs[0].String() != "10.96.0.42" {
		t.Errorf("after deleting fixed: views %v problems %v; want clash at 10.96.0.42", views, problems)
	}
}

func TestAllocationSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	writeManifest(t, dir, "a.yaml", svcYAML("a", "spec:\n  type: LoadBalancer\n  ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]\n")+
		"---\n"+svcYAML("b", "spec:\n  ports: [{port: 80}]\n"))
	var first []ServiceView
	for run := 0; run < 2; run++ {
		p := newTestProxy(t, dir, "203.0.113.0/28")
		views, problems, err := p.Build()
		if err != nil || len(problems) != 0 {
			t.Fatalf("run %d: Build = %v, %v", run, problems, err)
		}
		if err := WriteState(p.cfg.StateFile, p.allocs.state()); err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = views
			continue
		}
		for i := range views {
			a, b := first[i], views[i]
			if a.ClusterIPs[0] != b.ClusterIPs[0] || a.Ports[0].NodePort != b.Ports[0].NodePort || len(a.LoadBalancerIPs) != len(b.LoadBalancerIPs) || len(a.LoadBalancerIPs) > 0 && a.LoadBalancerIPs[0] != b.LoadBalancerIPs[0] {
				t.Errorf("service %s after restart = %v :%d %v; want %v :%d %v", a.Name, b.ClusterIPs, b.Ports[0].NodePort, b.LoadBalancerIPs, a.ClusterIPs, a.Ports[0].NodePort, a.LoadBalancerIPs)
			}
		}
	}
	// A state file from other ranges re-requests what still fits.
	p, err := New(Config{Manifests: dir, ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	views, _, _ := p.Build()
	if views[0].ClusterIPs[0] != first[0].ClusterIPs[0] {
		t.Errorf("after widening the CIDR: %v; want %v", views[0].ClusterIPs, first[0].ClusterIPs)
	}
}

func TestParsePool(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "192.0.2.0/30", want: "[192.0.2.0-192.0.2.3]"},
		{in: "192.0.2.10-192.0.2.20, 2001:db8::/127", want: "[192.0.2.10-192.0.2.20 2001:db8::-2001:db8::1]"},
		{in: "192.0.2.9", wantErr: true},
		{in: "192.0.2.20-192.0.2.10", wantErr: true},
		{in: "192.0.2.1-2001:db8::1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePool(tt.in)
		if (err != nil) != tt.wantErr || err == nil && strings.Join(strings.Fields(strings.Trim(strings.ReplaceAll(stringsOf(got), ",", " "), "")), " ") != tt.want {
			t.Errorf("ParsePool(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func stringsOf(rs []allocator.AddrRange) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.From.String()+"-"+r.To.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}
