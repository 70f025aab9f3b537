package allocator

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// restoreCostBound is what the package promises a Restore may allocate: a constant
// times the blob's length plus a fixed amount for error values, maps' first buckets
// and the like — never in proportion to what the blob claims or the ranges span.
func restoreCostBound(blob []byte) uint64 { return 64*uint64(len(blob)) + 32<<10 }

// TestRestoreCostsItsSize holds issue 13's promise for every Restore: a crafted blob
// costs no more than its own size (times a constant). Before, a 35-byte blob holding
// one run of 2^26 addresses in a /64 made Restore allocate 76 MB.
func TestRestoreCostsItsSize(t *testing.T) {
	const v6 = "fd00::/64"
	max := ^uint64(0)
	manyRuns := make([]uint64, 0, 2000)
	for range 1000 {
		manyRuns = append(manyRuns, 1, 1) // gap 1, length 1: one word per two runs
	}
	long := rangeBlob(v6, max, 1, 0, maxSparseUsed)
	if len(long) != 35 {
		t.Fatalf("the issue's blob is 35 bytes; this one is %d", len(long))
	}
	type restorer interface{ Restore([]byte) error }
	lbPool, _ := NewLBAllocator(Pool{Name: "big", Addresses: []AddrRange{MustParseAddrRange("10.0.0.0/8")}})
	_, _ = lbPool.Assign("ns/a", LBRequest{})
	svcs := bigServices(t)
	tests := []struct {
		name string
		mk   func() restorer
		blob []byte
	}{
		{"one run of 2^26 in a /64 (the 35-byte blob)", func() restorer { r, _ := NewIPRange(netip.MustParsePrefix(v6), Config{}); return r }, long},
		{"a thousand runs in a /64", func() restorer { r, _ := NewIPRange(netip.MustParsePrefix(v6), Config{}); return r },
			rangeBlob(v6, max, 1000, manyRuns...)},
		{"a whole /8 restored into a dense range", func() restorer { r, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/8"), Config{}); return r },
			rangeBlob("10.0.0.0/8", 1<<24-2, 1, 0, 1<<24-2)},
		{"a port range", func() restorer { r, _ := NewPortRange("1-65535", Config{}); return r }, rangeBlob("ports:1-65535", 65535, 1, 0, 65535)},
		{"a LoadBalancer pool of a /8", func() restorer { a, _ := NewLBAllocator(lbPool.pools...); return a }, lbPool.Snapshot()},
		{"Services over a /12, a /64 and a /12 pool", func() restorer { return bigServices(t) }, svcs.Snapshot()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.mk()
			var err error
			n := allocBytes(func() { err = r.Restore(tt.blob) })
			if err != nil {
				t.Fatalf("Restore = %v", err)
			}
			if bound := restoreCostBound(tt.blob); n > bound {
				t.Errorf("Restore of %d bytes allocated %d bytes; want ≤ %d", len(tt.blob), n, bound)
			}
			t.Logf("%d-byte blob: %d bytes allocated", len(tt.blob), n)
		})
	}
}

// bigServices is a dual-stack Services over Kubernetes' largest ranges with a /8
// LoadBalancer pool and a few services.
func bigServices(t testing.TB) *Services {
	lb, err := NewLBAllocator(Pool{Name: "big", Addresses: []AddrRange{MustParseAddrRange("172.16.0.0/12"), MustParseAddrRange("2001:db8::/64")}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServices(ServicesConfig{
		ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12"), netip.MustParsePrefix("fd00::/64")},
		LoadBalancer:    lb,
		GracePeriod:     time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		req := ServiceRequest{Type: ServiceType(i % 3), IPFamilyPolicy: PreferDualStack, Ports: []ServicePort{{Port: 80}}}
		if _, err := s.Allocate(fmt.Sprintf("ns/s%d", i), req); err != nil {
			t.Fatal(err)
		}
	}
	return s
}
