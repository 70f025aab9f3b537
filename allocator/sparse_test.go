package allocator

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestIPv6Slash64(t *testing.T) {
	r, err := NewIPRange(netip.MustParsePrefix("fd00:1::/64"), Config{Rand: rand.NewPCG(7, 8)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != ^uint64(0) {
		t.Fatalf("Size(/64) = %d; want 2^64-1", r.Size())
	}
	for _, s := range []string{"fd00:1::1", "fd00:1::ffff:ffff:ffff:ffff"} {
		if err := r.Allocate(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Allocate(%q) = %v; want nil", s, err)
		}
	}
	for _, s := range []string{"fd00:1::", "fd00:2::1"} {
		if err := r.Allocate(netip.MustParseAddr(s)); !errors.Is(err, ErrNotInRange) {
			t.Errorf("Allocate(%q) = %v; want ErrNotInRange", s, err)
		}
	}
	seen := map[netip.Addr]bool{}
	for range 1000 {
		a, err := r.AllocateNext()
		if err != nil || seen[a] || !netip.MustParsePrefix("fd00:1::/64").Contains(a) {
			t.Fatalf("AllocateNext = %v, %v: duplicate, error or outside", a, err)
		}
		seen[a] = true
	}
	if r.Used() != 1002 {
		t.Errorf("Used = %d; want 1002", r.Used())
	}
	snap := r.Snapshot()
	r2, _ := NewIPRange(netip.MustParsePrefix("fd00:1::/64"), Config{})
	if err := r2.Restore(snap); err != nil || r2.Used() != 1002 {
		t.Fatalf("Restore = %v, Used %d; want nil, 1002", err, r2.Used())
	}
	if _, err := NewIPRange(netip.MustParsePrefix("fd00::/48"), Config{}); !errors.Is(err, ErrRangeTooLarge) {
		t.Errorf("NewIPRange(/48) = %v; want ErrRangeTooLarge", err)
	}
}

func TestSparseLowestFree(t *testing.T) {
	r, _ := NewIPRange(netip.MustParsePrefix("fd00::/96"), Config{Strategy: LowestFree})
	// Upper band starts at offset 256, i.e. fd00::101; fill two words and check the walk.
	for i := range 130 {
		a, err := r.AllocateNext()
		if err != nil {
			t.Fatal(err)
		}
		want := netip.MustParseAddr("fd00::101")
		for range i {
			want = want.Next()
		}
		if a != want {
			t.Fatalf("AllocateNext #%d = %v; want %v", i, a, want)
		}
	}
}

func BenchmarkIPv6Slash64With1M(b *testing.B) {
	r, _ := NewIPRange(netip.MustParsePrefix("fd00::/64"), Config{})
	for range 1000000 {
		if _, err := r.AllocateNext(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		a, err := r.AllocateNext()
		if err != nil {
			b.Fatal(err)
		}
		_ = r.Release(a)
	}
}
