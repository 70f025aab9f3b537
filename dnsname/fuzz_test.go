package dnsname

import (
	"net/netip"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"api.prod.svc.cluster.local.",
		"_http._tcp.api.prod.svc.cluster.local.",
		"web-0.web.prod.svc.cluster.local",
		"10-3-0-2.default.pod.cluster.local.",
		"fd00--1.default.pod.cluster.local.",
		"2.0.3.10.in-addr.arpa.",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
		"dns-version.cluster.local.",
		"prod.svc.cluster.local.",
		"cluster.local.",
		"API.PROD.SVC.CLUSTER.LOCAL",
		"--ffff-a00-1.default.pod.cluster.local.",
		"a..b.cluster.local",
		"example.com.",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n := Parse(name, "cluster.local")
		fq := n.FQDN("cluster.local")
		switch n.Kind {
		case KindNotOurs, KindZone, KindInvalid:
			if fq != "" {
				t.Fatalf("Parse(%q) = %+v; FQDN() = %q; want \"\"", name, n, fq)
			}
			return
		}
		// Every field comes from the name, lower-cased.
		for _, s := range []string{n.Service, n.Namespace, n.Port, n.Endpoint} {
			if s != strings.ToLower(s) || strings.Contains(s, ".") {
				t.Fatalf("Parse(%q) = %+v; field %q not a lower-case label", name, n, s)
			}
		}
		// parse(build(x)) == x
		if again := Parse(fq, "cluster.local"); again != n {
			t.Fatalf("Parse(%q) = %+v; Parse(FQDN %q) = %+v", name, n, fq, again)
		}
		if (n.Kind == KindPod || n.Kind == KindReverse) && !n.Addr.IsValid() {
			t.Fatalf("Parse(%q) = %+v; want a valid address", name, n)
		}
	})
}

func FuzzParseReverse(f *testing.F) {
	for _, s := range []string{
		"2.0.3.10.in-addr.arpa.",
		"255.255.255.255.in-addr.arpa",
		"b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
		"3.10.in-addr.arpa.",
		"1.0.0.0.0.0.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
		"x.ip6.arpa",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		a, err := ParseReverse(name)
		if err != nil {
			return
		}
		back := ReverseName(a)
		if !strings.EqualFold(strings.TrimSuffix(name, "."), strings.TrimSuffix(back, ".")) {
			t.Fatalf("ParseReverse(%q) = %v; ReverseName = %q, not the same name", name, a, back)
		}
		if again, err := ParseReverse(back); err != nil || again != a {
			t.Fatalf("ParseReverse(ReverseName(%v)) = %v, %v", a, again, err)
		}
	})
}

func FuzzParseDashedAddr(f *testing.F) {
	for _, s := range []string{"10-3-0-2", "fd00--1", "--", "2001-db8-1-2-3-4-5-6", "1--2--3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseDashedAddr(s)
		if err != nil {
			return
		}
		// The canonical form parses back to the same address, and agrees
		// with netip on the colon form.
		if again, err := ParseDashedAddr(DashedAddr(a)); err != nil || again != a {
			t.Fatalf("ParseDashedAddr(DashedAddr(%v)) = %v, %v", a, again, err)
		}
		if strings.Count(s, "-") != 3 || strings.Contains(s, "--") {
			if want, err := netip.ParseAddr(strings.ReplaceAll(s, "-", ":")); err != nil || want.Unmap() != a {
				t.Fatalf("ParseDashedAddr(%q) = %v; netip says %v, %v", s, a, want, err)
			}
		}
	})
}
