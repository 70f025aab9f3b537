package allocator

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
)

func TestIPStaticBand(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		want   uint64
	}{
		{"v4 /32", "10.0.0.1/32", 1},
		{"v4 /28", "10.0.0.0/28", 14},
		{"v4 /27", "10.0.0.0/27", 16},
		{"v4 /22", "10.0.0.0/22", 63},
		{"v4 /16", "10.0.0.0/16", 256},
		{"v4 /12", "10.96.0.0/12", 256},
		{"v4 /8", "10.0.0.0/8", 256},
		{"v6 /128", "fd00::1/128", 1},
		{"v6 /124", "fd00::/124", 15},
		{"v6 /123", "fd00::/123", 16},
		{"v6 /118", "fd00::/118", 63},
		{"v6 /112", "fd00::/112", 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewIPRange(netip.MustParsePrefix(tt.prefix), Config{})
			if err != nil {
				t.Fatal(err)
			}
			if got := IPStaticBand(r.Size()); got != tt.want {
				t.Errorf("IPStaticBand(%d) for %q = %d; want %d", r.Size(), tt.prefix, got, tt.want)
			}
		})
	}
}

func TestPortStaticBand(t *testing.T) {
	tests := []struct {
		name string
		size uint64
		want uint64
	}{
		{"tiny", 16, 0},
		{"17", 17, 16},
		{"nodeport", 2768, 86},
		{"huge", 65536, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PortStaticBand(tt.size); got != tt.want {
				t.Errorf("PortStaticBand(%d) = %d; want %d", tt.size, got, tt.want)
			}
		})
	}
}

func TestIPRangeBounds(t *testing.T) {
	tests := []struct {
		prefix      string
		size        uint64
		first, last string
		excluded    []string
	}{
		{"10.0.0.0/24", 254, "10.0.0.1", "10.0.0.254", []string{"10.0.0.0", "10.0.0.255", "10.0.1.0"}},
		{"10.0.0.0/31", 2, "10.0.0.0", "10.0.0.1", []string{"10.0.0.2"}},
		{"10.0.0.7/32", 1, "10.0.0.7", "10.0.0.7", []string{"10.0.0.8"}},
		{"fd00::/120", 255, "fd00::1", "fd00::ff", []string{"fd00::", "fd00::100"}},
		{"fd00::/127", 2, "fd00::", "fd00::1", []string{"fd00::2"}},
		{"fd00::5/128", 1, "fd00::5", "fd00::5", []string{"fd00::4"}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			r, err := NewIPRange(netip.MustParsePrefix(tt.prefix), Config{Strategy: LowestFree})
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != tt.size {
				t.Errorf("Size(%q) = %d; want %d", tt.prefix, r.Size(), tt.size)
			}
			ends := []string{tt.first}
			if tt.last != tt.first {
				ends = append(ends, tt.last)
			}
			for _, a := range ends {
				if err := r.Allocate(netip.MustParseAddr(a)); err != nil {
					t.Errorf("Allocate(%q) = %v; want nil", a, err)
				}
				if err := r.Allocate(netip.MustParseAddr(a)); !errors.Is(err, ErrAllocated) {
					t.Errorf("second Allocate(%q) = %v; want ErrAllocated", a, err)
				}
			}
			for _, a := range tt.excluded {
				if err := r.Allocate(netip.MustParseAddr(a)); !errors.Is(err, ErrNotInRange) {
					t.Errorf("Allocate(%q) = %v; want ErrNotInRange", a, err)
				}
			}
		})
	}
}

func TestBandOrder(t *testing.T) {
	r, err := NewIPRange(netip.MustParsePrefix("10.0.0.0/27"), Config{Strategy: LowestFree})
	if err != nil {
		t.Fatal(err)
	}
	// 30 usable, static band 16: the first 14 dynamic picks come from offsets 16..29.
	for i := range 30 {
		a, err := r.AllocateNext()
		if err != nil {
			t.Fatalf("AllocateNext #%d = %v", i, err)
		}
		want := 17 + i // 10.0.0.1 is offset 0
		if i >= 14 {
			want = 1 + i - 14
		}
		if got := int(a.As4()[3]); got != want {
			t.Errorf("AllocateNext #%d = %v; want 10.0.0.%d", i, a, want)
		}
	}
	if _, err := r.AllocateNext(); !errors.Is(err, ErrFull) {
		t.Errorf("AllocateNext on full = %v; want ErrFull", err)
	}
}

func TestPortRange(t *testing.T) {
	r, err := NewPortRange("30000-32767", Config{Rand: rand.NewPCG(1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != 2768 {
		t.Fatalf("Size = %d; want 2768", r.Size())
	}
	seen := map[uint16]bool{}
	for range 2768 {
		p, err := r.AllocateNext()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] || p < 30000 || p > 32767 {
			t.Fatalf("AllocateNext = %d: duplicate or out of range", p)
		}
		// Nothing from the static band [30000,30086) until the dynamic band is full.
		if len(seen) < 2768-86 && p < 30086 {
			t.Fatalf("AllocateNext = %d from static band while dynamic band has room", p)
		}
		seen[p] = true
	}
	if _, err := r.AllocateNext(); !errors.Is(err, ErrFull) {
		t.Errorf("AllocateNext on full = %v; want ErrFull", err)
	}
	if err := r.Release(30005); err != nil || r.Used() != 2767 {
		t.Errorf("Release(30005) = %v, Used = %d; want nil, 2767", err, r.Used())
	}
	if err := r.Allocate(29999); !errors.Is(err, ErrNotInRange) {
		t.Errorf("Allocate(29999) = %v; want ErrNotInRange", err)
	}
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi uint16
		ok     bool
	}{
		{"30000-32767", 30000, 32767, true},
		{"80", 80, 80, true},
		{"10-5", 0, 0, false},
		{"a-b", 0, 0, false},
		{"1-70000", 0, 0, false},
	}
	for _, tt := range tests {
		lo, hi, err := ParsePortRange(tt.in)
		if (err == nil) != tt.ok || lo != tt.lo || hi != tt.hi {
			t.Errorf("ParsePortRange(%q) = %d, %d, %v; want %d, %d, ok=%v", tt.in, lo, hi, err, tt.lo, tt.hi, tt.ok)
		}
	}
}

func TestConcurrentAllocate(t *testing.T) {
	r, err := NewIPRange(netip.MustParsePrefix("10.0.0.0/20"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[netip.Addr]int{}
	run := func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					a, err := r.AllocateNext()
					if errors.Is(err, ErrFull) {
						return
					}
					mu.Lock()
					seen[a]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	run()
	if len(seen) != int(r.Size()) || r.Free() != 0 {
		t.Fatalf("distinct = %d, Free = %d; want %d, 0", len(seen), r.Free(), r.Size())
	}
	for a := range seen {
		if err := r.Release(a); err != nil {
			t.Fatal(err)
		}
	}
	if r.Used() != 0 {
		t.Fatalf("Used after release = %d; want 0", r.Used())
	}
	run()
	for a, n := range seen {
		if n != 2 {
			t.Fatalf("%v handed out %d times over two rounds; want 2", a, n)
		}
	}
}

func TestCountsProperty(t *testing.T) {
	r, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/22"), Config{Rand: rand.NewPCG(3, 4)})
	rng := rand.New(rand.NewPCG(5, 6))
	model := map[netip.Addr]bool{}
	for range 20000 {
		if rng.IntN(2) == 0 {
			a, err := r.AllocateNext()
			if err == nil {
				if model[a] {
					t.Fatalf("AllocateNext = %v twice", a)
				}
				model[a] = true
			}
		} else {
			for a := range model {
				_ = r.Release(a)
				delete(model, a)
				break
			}
		}
		if r.Used() != uint64(len(model)) {
			t.Fatalf("Used = %d; want %d", r.Used(), len(model))
		}
	}
	n := 0
	for a := range r.All() {
		if !model[a] {
			t.Fatalf("All yielded unallocated %v", a)
		}
		n++
	}
	if n != len(model) {
		t.Fatalf("All yielded %d; want %d", n, len(model))
	}
}

func fill99(b testing.TB, r *IPRange) {
	b.Helper()
	n := r.Size() - r.Size()/100
	for range n {
		if _, err := r.AllocateNext(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	r, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/16"), Config{})
	allocs := testing.AllocsPerRun(1000, func() {
		a, err := r.AllocateNext()
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Release(a); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AllocateNext+Release allocs = %v; want 0", allocs)
	}
	ft, _ := NewIPRangeFromTo(netip.MustParseAddr("10.1.0.0"), netip.MustParseAddr("10.1.255.255"), Config{})
	for _, x := range []*IPRange{r, ft} {
		a := netip.MustParseAddr("10.0.2.3")
		if x == ft {
			a = netip.MustParseAddr("10.1.2.3")
		}
		allocs = testing.AllocsPerRun(1000, func() {
			if err := x.Allocate(a); err != nil || !x.Has(a) {
				t.Fatal(err)
			}
			if err := x.Release(a); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Allocate+Has+Release allocs = %v; want 0", allocs)
		}
	}
}

func BenchmarkAllocateNext12At99(b *testing.B) {
	r, _ := NewIPRange(netip.MustParsePrefix("10.96.0.0/12"), Config{})
	fill99(b, r)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a, err := r.AllocateNext()
		if err != nil {
			b.Fatal(err)
		}
		_ = r.Release(a)
	}
}
