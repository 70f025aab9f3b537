package dnsname

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestCatalogMatchesRecordSets applies random updates and deletions and
// checks after each that the catalog answers, for every name, exactly the
// records the RecordSets of the live services give it — names shared
// between services (reverse names of a shared address, hostnames reused)
// included — and nothing for names no live service has.
func TestCatalogMatchesRecordSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := NewCatalog(CatalogOptions{})
	live := map[string]Service{}
	seenNames := map[string]bool{}
	seenAncestors := map[string]bool{}
	steps := 300
	if testing.Short() {
		steps = 60
	}
	for step := range steps {
		name := fmt.Sprintf("s%d", rng.IntN(6))
		if rng.IntN(5) == 0 {
			c.DeleteService("ns", name)
			delete(live, name)
		} else {
			s := randomService(rng, name)
			mustSet(t, c, s)
			live[name] = s
		}
		want := map[string][]string{}
		for _, s := range live {
			rs, err := RecordSet(s, CatalogOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				want[r.Name] = append(want[r.Name], render([]Record{r})[0])
				seenNames[r.Name] = true
			}
		}
		checkNonTerminals(t, c, step, want, seenAncestors)
		for n := range seenNames {
			got, res := lookupAll(c, n)
			slices.Sort(got)
			w := want[n]
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Fatalf("step %d: Lookup(%q, ANY) = %q, %v; want %q", step, n, got, res, w)
			}
		}
	}
}

// checkNonTerminals checks RFC 8020 §2 against the names of want: every
// ancestor of a name with records exists (NODATA when it has none of its
// own), and a reverse ancestor seen before that no longer has names below
// it is not the catalog's any more.
func checkNonTerminals(t *testing.T, c *Catalog, step int, want map[string][]string, seen map[string]bool) {
	t.Helper()
	now := map[string]bool{}
	for n := range want {
		for i := strings.IndexByte(n, '.'); i >= 0 && i < len(n)-1; i = strings.IndexByte(n, '.') {
			if n = n[i+1:]; n == "cluster.local." || n == "in-addr.arpa." || n == "ip6.arpa." {
				break
			}
			now[n], seen[n] = true, true
		}
	}
	for n := range seen {
		if _, has := want[n]; has {
			continue
		}
		_, res := c.Lookup(n, TypeTXT)
		switch {
		case now[n] && res != NoData:
			t.Fatalf("step %d: Lookup(%q) of an empty non-terminal = %v; want NoData", step, n, res)
		case !now[n] && strings.HasSuffix(n, ".arpa.") && res != NotOurs:
			t.Fatalf("step %d: Lookup(%q) with nothing below = %v; want NotOurs", step, n, res)
		}
	}
}

// lookupAll renders every record the catalog has at name, one query per
// type (ANY answers one RRset only); res is the last query's result.
func lookupAll(c *Catalog, name string) (got []string, res Result) {
	for _, t := range []Type{TypeA, TypeCNAME, TypePTR, TypeTXT, TypeAAAA, TypeSRV} {
		var ans Answer
		ans, res = c.Lookup(name, t)
		for _, r := range ans.Records {
			if r.Type == t {
				got = append(got, render([]Record{r})[0])
			}
		}
	}
	return got, res
}

// randomService is a small service over a few shared addresses, hostnames
// and port sets, so that names collide across services and updates.
func randomService(rng *rand.Rand, name string) Service {
	s := Service{Namespace: "ns", Name: name, Ports: []Port{{Name: "http", Port: 80}, {Name: "dns", Protocol: UDP, Port: 53}}}
	if rng.IntN(3) == 0 {
		s.ClusterIPs = []netip.Addr{netip.AddrFrom4([4]byte{10, 96, 0, byte(rng.IntN(4))})}
		return s
	}
	s.Type = Headless
	s.PublishNotReadyAddresses = rng.IntN(2) == 0
	for range rng.IntN(6) {
		ep := Endpoint{Ready: rng.IntN(4) != 0}
		a := netip.AddrFrom4([4]byte{10, 96, 0, byte(rng.IntN(8))})
		if rng.IntN(3) == 0 {
			a = netip.AddrFrom16([16]byte{0xfd, 15: byte(rng.IntN(8))})
		}
		ep.Addrs = []netip.Addr{a}
		if h := rng.IntN(4); h > 0 {
			ep.Hostname = fmt.Sprintf("h%d", h)
		}
		switch rng.IntN(3) {
		case 1:
			ep.Ports = []EndpointPort{{Name: "http", Port: uint16(8000 + rng.IntN(3))}}
		case 2:
			ep.Ports = []EndpointPort{{Name: "dns", Protocol: UDP, Port: 5353}}
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

// TestRecordSetLarge checks a service whose names span several chunks of
// the builder's name buffer and whose addresses and hostnames fill its
// hash sets, against names made one at a time by the exported helpers.
func TestRecordSetLarge(t *testing.T) {
	const n = 3000
	s := Service{Namespace: "prod", Name: "big", Type: Headless, Ports: []Port{{Name: "http", Port: 80}, {Name: "dns", Protocol: UDP, Port: 53}}}
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 8, byte(i >> 8), byte(i)})
		if i%3 == 0 {
			a = netip.AddrFrom16([16]byte{0xfd, 14: byte(i >> 8), 15: byte(i)})
		}
		ep := Endpoint{Addrs: []netip.Addr{a}, Ready: true}
		if i%2 == 0 {
			ep.Hostname = fmt.Sprintf("big-%d", i)
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	// Every endpoint once more, as a second EndpointSlice would list it.
	s.Endpoints = append(s.Endpoints, s.Endpoints...)
	rs, err := RecordSet(s, CatalogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eps := s.Endpoints[:n]
	names := make([]string, n)
	for i, ep := range eps {
		names[i] = EndpointFQDN(EndpointLabel(ep, false), "big", "prod", "")
	}
	svc := ServiceFQDN("big", "prod", "")
	var want []string
	add := func(name string, typ Type, data string) {
		want = append(want, name+" 5 IN "+typ.String()+" "+data)
	}
	for _, typ := range []Type{TypeA, TypeAAAA} {
		for _, ep := range eps {
			if addrType(ep.Addrs[0]) == typ {
				add(svc, typ, ep.Addrs[0].String())
			}
		}
	}
	for _, p := range s.Ports {
		for i := range eps {
			add(svc, TypeSRV, fmt.Sprintf("0 0 %d %s", p.Port, names[i]))
		}
	}
	for i, ep := range eps {
		add(names[i], addrType(ep.Addrs[0]), ep.Addrs[0].String())
	}
	for i, ep := range eps {
		add(ReverseName(ep.Addrs[0]), TypePTR, names[i])
	}
	for _, p := range s.Ports {
		for i := range eps {
			add(SRVName(p.Name, p.Protocol, "big", "prod", ""), TypeSRV, fmt.Sprintf("0 0 %d %s", p.Port, names[i]))
		}
	}
	got := render(rs)
	if len(got) != len(want) {
		t.Fatalf("RecordSet() = %d records; want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("RecordSet()[%d] = %q; want %q", i, got[i], want[i])
		}
	}
}

// TestAppendRecordSet reuses a slice full of other records: the result
// keeps dst's prefix and then holds exactly RecordSet's records, with no
// field left over from what the slice held before.
func TestAppendRecordSet(t *testing.T) {
	stale := Record{Name: "stale.", Type: TypeTXT, TTL: 9, Addr: mp("fd00::9"), Target: "t.", Priority: 7, Weight: 7, Port: 7, Text: "x"}
	for _, s := range []Service{
		headlessService(50),
		{Namespace: "prod", Name: "api", ClusterIPs: addrs("10.96.0.10", "fd00::10"), Ports: []Port{{Name: "http", Port: 80}}},
		{Namespace: "prod", Name: "ext", Type: ExternalName, ExternalName: "db.example.com"},
	} {
		want, err := RecordSet(s, CatalogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, room := range []int{0, len(want), 2 * len(want)} {
			dst := make([]Record, 1+room)
			for i := range dst {
				dst[i] = stale
			}
			got, err := AppendRecordSet(dst[:1], s, CatalogOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != stale || !slices.Equal(got[1:], want) {
				t.Errorf("AppendRecordSet(%s, room %d) =\n%q\nwant the stale record, then\n%q", s.Name, room, render(got), render(want))
			}
		}
	}
	bad := Service{Namespace: "Bad"}
	dst := []Record{stale}
	if got, err := AppendRecordSet(dst, bad, CatalogOptions{}); err == nil || len(got) != 1 {
		t.Errorf("AppendRecordSet(invalid) = %d records, %v; want dst unchanged and an error", len(got), err)
	}
}
