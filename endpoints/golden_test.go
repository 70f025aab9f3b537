package endpoints

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// renderPlan prints a plan in a stable, reviewable form.
func renderPlan(p Plan) string {
	var b strings.Builder
	slice := func(verb string, s Slice) {
		fmt.Fprintf(&b, "%s %s %v ports=[", verb, s.Name, s.Family)
		for i, p := range s.Ports {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s/%s/%d", p.Name, p.Protocol, p.Port)
		}
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("] labels={")
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%s", k, s.Labels[k])
		}
		b.WriteString("}\n")
		for _, e := range s.Endpoints {
			fmt.Fprintf(&b, "\t%s ready=%t serving=%t terminating=%t node=%q zone=%q hostname=%q ref=%s/%s hints=%+v\n",
				e.Address, e.Conditions.Ready, e.Conditions.Serving, e.Conditions.Terminating,
				e.NodeName, e.Zone, e.Hostname, e.TargetRef.Namespace, e.TargetRef.Name, e.Hints)
		}
	}
	for _, s := range p.Create {
		slice("create", s)
	}
	for _, s := range p.Update {
		slice("update", s)
	}
	for _, n := range p.Delete {
		fmt.Fprintf(&b, "delete %s\n", n)
	}
	return b.String()
}

func goldenWorkloads() []Workload {
	pod := func(name, v4, v6, node, zone string, ready bool, port uint16) Workload {
		w := Workload{Namespace: "shop", Name: name, Labels: map[string]string{"app": "web"},
			Node: node, Zone: zone, Ready: ready,
			Ports: []ContainerPort{{Name: "http", Protocol: TCP, Number: port}}}
		for _, a := range []string{v4, v6} {
			if a != "" {
				w.IPs = append(w.IPs, netip.MustParseAddr(a))
			}
		}
		return w
	}
	ws := []Workload{
		pod("web-a", "10.0.0.1", "fd00::1", "n1", "z1", true, 8080),
		pod("web-b", "10.0.0.2", "fd00::2", "n2", "z2", true, 8080),
		pod("web-c", "10.0.0.3", "fd00::3", "n2", "z2", false, 8080),
		pod("web-old", "10.0.0.4", "", "n1", "z1", true, 9090), // an older image names port 9090 "http"
		pod("web-other-ns", "10.0.0.9", "", "n1", "z1", true, 8080),
	}
	ws[1].Hostname, ws[1].Subdomain = "b", "web" // a hostname only under its own service
	ws[2].Deleting = true
	ws[4].Namespace = "other"
	return append(ws, Workload{Namespace: "shop", Name: "web-done", Labels: map[string]string{"app": "web"},
		IPs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}, Phase: Succeeded})
}

func TestReconcileGolden(t *testing.T) {
	svc := Service{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"},
		Labels:              map[string]string{"team": "storefront"},
		Families:            []IPFamily{IPv4, IPv6},
		TrafficDistribution: PreferClose,
		Ports: []ServicePort{
			{Name: "http", Protocol: TCP, Port: 80, TargetPort: TargetPort{Name: "http"}},
			{Name: "metrics", Protocol: TCP, Port: 9100, TargetPort: TargetPort{Number: 9100}},
		},
	}
	ws := goldenWorkloads()
	first := mustReconcile(t, Config{}, &svc, Desired(&svc, ws), nil)
	var existing []Slice
	existing = append(existing, first.Create...)
	// The old pod goes away and a new one comes up: updates in place.
	ws = slices.DeleteFunc(ws, func(w Workload) bool { return w.Name == "web-old" })
	ws = append(ws, Workload{Namespace: "shop", Name: "web-d", Labels: map[string]string{"app": "web"},
		IPs: []netip.Addr{netip.MustParseAddr("10.0.0.6")}, Node: "n1", Zone: "z1", Ready: true,
		Ports: []ContainerPort{{Name: "http", Protocol: TCP, Number: 8080}}})
	second := mustReconcile(t, Config{}, &svc, Desired(&svc, ws), existing)
	// The selector stops matching: the last slices go, a placeholder stays.
	svc.Selector = map[string]string{"app": "gone"}
	third := mustReconcile(t, Config{}, &svc, Desired(&svc, ws), existing)

	for _, tc := range []struct {
		file string
		plan Plan
	}{
		{"plan-create.golden", first},
		{"plan-rollover.golden", second},
		{"plan-unselected.golden", third},
		{"plan-repack.golden", goldenRepack(t)},
	} {

		t.Run(tc.file, func(t *testing.T) {
			got := renderPlan(tc.plan)
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("plan differs from %s (run with -update to accept):\n%s", path, got)
			}
		})
	}
}

// goldenRepack halves eight pods packed two to a slice, one pod from each
// slice. Kubernetes would update the four slices to one endpoint each;
// four endpoints need two slices plus one spare, so the repack empties
// web-1 (the smallest, first by name) into web-2, the fullest slice the
// plan writes anyway: three updates and a delete, the same four writes.
func goldenRepack(t *testing.T) Plan {
	svc := Service{Namespace: "shop", Name: "web", Selector: map[string]string{"app": "web"},
		Ports: []ServicePort{{Name: "http", Protocol: TCP, Port: 80, TargetPort: TargetPort{Number: 8080}}}}
	var ws []Workload
	for i := range 8 {
		ws = append(ws, Workload{Namespace: "shop", Name: fmt.Sprintf("web-%d", i), Labels: map[string]string{"app": "web"},
			IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 1, byte(i)})}, Node: fmt.Sprintf("n%d", i%2), Ready: true})
	}
	cfg := Config{MaxEndpointsPerSlice: 2}
	existing := apply(nil, mustReconcile(t, cfg, &svc, Desired(&svc, ws), nil))
	ws = slices.DeleteFunc(ws, func(w Workload) bool {
		return slices.Contains([]string{"web-1", "web-3", "web-5", "web-6"}, w.Name)
	})
	return mustReconcile(t, cfg, &svc, Desired(&svc, ws), existing)
}
