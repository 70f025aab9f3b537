package allocator

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
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

// TestSparseSpansMatchBitmap: a sparse set holding restored long runs as spans answers
// every question as a dense bitmap of the same contents does, through sets and clears
// that split spans.
func TestSparseSpansMatchBitmap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const size = 64*200 + 17
	for round := range 50 {
		sp := &sparse{size: size, words: map[uint64]uint64{}}
		bm := newBitmap(size)
		var o uint64
		for o < size {
			o += uint64(1 + rng.IntN(300))
			n := uint64(1 + rng.IntN(1200))
			if o >= size {
				break
			}
			n = min(n, size-o)
			sp.setRun(o, n)
			bm.setRun(o, n)
			o += n
		}
		if round > 0 && len(sp.spans) == 0 {
			t.Fatalf("round %d: no spans; the test must exercise them", round)
		}
		for step := range 2000 {
			x := rng.Uint64N(size)
			switch rng.IntN(4) {
			case 0:
				if a, b := sp.set(x), bm.set(x); a != b {
					t.Fatalf("round %d step %d: set(%d) = %v; bitmap %v", round, step, x, a, b)
				}
			case 1:
				if a, b := sp.clear(x), bm.clear(x); a != b {
					t.Fatalf("round %d step %d: clear(%d) = %v; bitmap %v", round, step, x, a, b)
				}
			case 2:
				hi := x + rng.Uint64N(size-x) + 1
				a, aok := sp.nextFree(x, hi)
				b, bok := bm.nextFree(x, hi)
				if aok != bok || (aok && a != b) {
					t.Fatalf("round %d step %d: nextFree(%d,%d) = %d,%v; bitmap %d,%v", round, step, x, hi, a, aok, b, bok)
				}
			default:
				if sp.has(x) != bm.has(x) {
					t.Fatalf("round %d step %d: has(%d) disagrees", round, step, x)
				}
			}
		}
		if sp.count() != bm.count() {
			t.Fatalf("round %d: count %d; bitmap %d", round, sp.count(), bm.count())
		}
		type run struct{ s, n uint64 }
		var a, b []run
		sp.runs(func(s, n uint64) { a = append(a, run{s, n}) })
		bm.runs(func(s, n uint64) { b = append(b, run{s, n}) })
		if !slices.Equal(a, b) {
			t.Fatalf("round %d: runs differ: %d vs %d runs", round, len(a), len(b))
		}
		var ea, eb []uint64
		sp.each(func(o uint64) bool { ea = append(ea, o); return true })
		bm.each(func(o uint64) bool { eb = append(eb, o); return true })
		if !slices.Equal(ea, eb) {
			t.Fatalf("round %d: each differs", round)
		}
	}
}
