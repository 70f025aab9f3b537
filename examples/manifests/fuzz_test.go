package manifests

import (
	"github.com/svcnet/svcnet/endpoints"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad parses arbitrary bytes as a manifest file beside a good one
// and resolves the two as Load does (in memory: reading files is covered
// by the hostile-file tests, and file I/O would slow the fuzzer a
// hundredfold). Whatever the input: no panic, every error is an *Error
// for the fuzzed file, the good file's Service still loads, every loaded
// address is one the dataplane accepts, and resolving again gives the same
// result.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"service.yaml", "pods.yaml", "slices.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata/manifests", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cfg := Config{}.withDefaults()
	good := parseFile("0-good.yaml", []byte(svc("good", "")), &cfg)
	f.Fuzz(func(t *testing.T, data []byte) {
		l := NewLoader(cfg)
		fuzzed := parseFile("fuzz.yaml", data, &cfg)
		files := []fileResult{{res: good}, {res: fuzzed}}
		set, errs := l.resolve(files)
		errs = append(fuzzed.errs, errs...)
		for _, e := range errs {
			if e.File != "fuzz.yaml" || e.Err == nil {
				t.Fatalf("error %v is not for fuzz.yaml", e)
			}
			_ = e.Error()
		}
		if len(set.Services) == 0 || set.Services[0].Name != "good" {
			t.Fatalf("services %v; want good loaded first", serviceNames(set))
		}
		checkLoaded(t, set)
		again, errs2 := l.resolve(files)
		if len(again.Services) != len(set.Services) || len(again.Pods) != len(set.Pods) || len(errs2)+len(fuzzed.errs) != len(errs) {
			t.Fatalf("second resolve differs: %d services, %d pods; first %d, %d",
				len(again.Services), len(again.Pods), len(set.Services), len(set.Pods))
		}
	})
}

// checkLoaded asserts what every loaded Set promises: addresses the
// dataplane accepts, ports with numbers, services endpoints accepts.
func checkLoaded(t *testing.T, set Set) {
	t.Helper()
	for _, s := range set.Services {
		// Whatever loads, the endpoints package accepts.
		es := endpoints.Service{Namespace: s.Namespace, Name: s.Name, Selector: s.Selector, Families: s.IPFamilies,
			Headless: s.Headless, TrafficDistribution: endpoints.TrafficDistribution(s.TrafficDistribution)}
		for _, p := range s.Ports {
			es.Ports = append(es.Ports, endpoints.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.Port, TargetPort: endpoints.TargetPort(p.TargetPort)})
		}
		if err := es.Validate(); err != nil {
			t.Fatalf("service %s loaded but endpoints refuses it: %v", s.Key(), err)
		}
		for _, list := range [][]netip.Addr{s.ClusterIPs, s.ExternalIPs, s.LoadBalancerIPs, s.LoadBalancerIngress} {
			for _, a := range list {
				if _, err := parseAddr("x", a.String()); err != nil {
					t.Fatalf("service %s holds %s: %v", s.Key(), a, err)
				}
			}
		}
		for _, p := range s.Ports {
			if p.Port == 0 {
				t.Fatalf("service %s has port 0", s.Key())
			}
		}
	}
	for _, p := range set.Pods {
		for _, a := range p.IPs {
			if _, err := parseAddr("x", a.String()); err != nil {
				t.Fatalf("pod %s holds %s: %v", p.Key(), a, err)
			}
		}
	}
	for _, s := range set.EndpointSlices {
		for _, p := range s.Ports {
			if p.Port == 0 {
				t.Fatalf("slice %s has a port without number", s.Key())
			}
		}
		for _, ep := range s.Endpoints {
			for _, a := range ep.Addresses {
				if _, err := parseAddr("x", a.String()); err != nil || endpoints.IPFamilyOf(a) != s.Family {
					t.Fatalf("slice %s holds %s (%v)", s.Key(), a, err)
				}
			}
		}
	}
}
