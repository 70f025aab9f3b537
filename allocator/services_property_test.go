package allocator

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// TestServicesModel runs random operations against Services and a map model of what
// each key must hold: the last successful Allocate, kept through Release until the
// grace period ends, carried through Snapshot and Restore. After every step the
// allocators hold exactly the records' values, each once, and a repeated request gets
// the same answer.
func TestServicesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	s, clock := testServices(t, true, true, time.Minute)
	type entry struct {
		alloc    ServiceAllocation
		released time.Time
	}
	model := map[string]entry{}
	keys := []string{"a", "b", "c", "d", "e", "f"}
	ok := 0
	for step := range 3000 {
		key := keys[rng.IntN(len(keys))]
		switch op := rng.IntN(10); {
		case op < 6:
			req := randomRequest(rng)
			got, err := s.Allocate(key, req)
			if err != nil {
				break
			}
			model[key] = entry{alloc: got}
			ok++
			if again, err := s.Allocate(key, req); err != nil || !allocEqual(again, got) {
				t.Fatalf("step %d: repeated Allocate(%s) = %+v, %v; want %+v", step, key, again, err, got)
			}
		case op < 8:
			if e, ok := model[key]; ok && e.released.IsZero() {
				e.released = clock.t
				model[key] = e
			}
			s.Release(key)
		case op < 9:
			clock.t = clock.t.Add(time.Duration(rng.IntN(40)) * time.Second)
			s.Expire(clock.t)
			for k, e := range model {
				if !e.released.IsZero() && !clock.t.Before(e.released.Add(time.Minute)) {
					delete(model, k)
				}
			}
		default:
			blob := s.Snapshot()
			fresh, _ := testServices(t, true, true, time.Minute)
			fresh.now = clock.now
			if err := fresh.Restore(blob); err != nil {
				t.Fatalf("step %d: Restore(own snapshot) = %v", step, err)
			}
			// The fresh Services shares the LB allocator's pools but has its own.
			s = fresh
		}
		checkServicesConsistent(t, s)
		if s.Len() != len(model) {
			t.Fatalf("step %d: %d services; model %d", step, s.Len(), len(model))
		}
		for k, e := range model {
			if got, ok := s.Get(k); !ok || !allocEqual(got, e.alloc) {
				t.Fatalf("step %d: Get(%s) = %+v, %v; model %+v", step, k, got, ok, e.alloc)
			}
		}
	}
	if ok < 600 {
		t.Errorf("only %d of 3000 steps allocated; the model test needs more successes to mean something", ok)
	}
	t.Logf("%d successful allocations", ok)
}

func randomRequest(rng *rand.Rand) ServiceRequest {
	req := ServiceRequest{
		Type:                  ServiceType(rng.IntN(4)),
		IPFamilyPolicy:        IPFamilyPolicy(rng.IntN(3)),
		ExternalTrafficPolicy: TrafficPolicy(rng.IntN(2)),
		Headless:              rng.IntN(8) == 0,
		SharingKey:            []string{"", "k"}[rng.IntN(2)],
	}
	if rng.IntN(4) == 0 {
		req.IPFamilies = []IPFamily{[]IPFamily{IPv4, IPv6}[rng.IntN(2)]}
	}
	if rng.IntN(5) == 0 {
		req.ClusterIPs = []netip.Addr{netip.AddrFrom4([4]byte{10, 96, 0, byte(1 + rng.IntN(30))})}
	}
	for i := range rng.IntN(3) {
		p := ServicePort{Name: string(rune('a' + i)), Port: uint16(80 + rng.IntN(3)), Protocol: Protocol(rng.IntN(2))}
		if rng.IntN(4) == 0 {
			p.NodePort = uint16(30000 + rng.IntN(20))
		}
		req.Ports = append(req.Ports, p)
	}
	if rng.IntN(6) == 0 {
		req.LoadBalancerIPs = []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + rng.IntN(3))})}
	}
	return req
}

// BenchmarkServicesAllocate measures one whole-Service Allocate of a new dual-stack
// LoadBalancer service with two ports and a health-check port, and its Release, in a
// cluster already holding 10,000 services (grace period off so values recycle).
func BenchmarkServicesAllocate(b *testing.B) {
	lb, _ := NewLBAllocator(Pool{Name: "p", Addresses: []AddrRange{MustParseAddrRange("172.16.0.0/16"), MustParseAddrRange("2001:db8::/64")}})
	s, err := NewServices(ServicesConfig{
		ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12"), netip.MustParsePrefix("fd00::/108")},
		LoadBalancer:    lb,
		GracePeriod:     -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		if _, err := s.Allocate("ns/s"+strconv.Itoa(i), ServiceRequest{IPFamilyPolicy: PreferDualStack, Ports: []ServicePort{{Port: 80}}}); err != nil {
			b.Fatal(err)
		}
	}
	req := ServiceRequest{Type: LoadBalancer, IPFamilyPolicy: RequireDualStack, ExternalTrafficPolicy: PolicyLocal,
		Ports: []ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Allocate("ns/bench", req); err != nil {
			b.Fatal(err)
		}
		s.Release("ns/bench")
	}
}
