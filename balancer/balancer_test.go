package balancer

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var sink Result

func mkBackends(n int, weight func(i int) uint32) []Backend {
	bs := make([]Backend, n)
	for i := range bs {
		bs[i] = Backend{
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 80),
			Name: fmt.Sprintf("pod-%04d", i),
		}
		if weight != nil {
			bs[i].Weight = weight(i)
		}
	}
	return bs
}

type ctor func([]Backend, Config) (Picker, error)

// mustPick picks and fails the test on an error, so that a picker that always
// failed cannot pass a test that only looks at what it picked.
func mustPick(t testing.TB, p Picker, r *Request) Result {
	t.Helper()
	res, err := p.Pick(r)
	if err != nil {
		t.Fatalf("Pick(%+v) = %v", *r, err)
	}
	return res
}

var strategies = []struct {
	name string
	new  ctor
}{
	{"RoundRobin", NewRoundRobin},
	{"WeightedRoundRobin", NewWeightedRoundRobin},
	{"Random", NewRandom},
	{"WeightedRandom", NewWeightedRandom},
	{"LeastRequest", NewLeastRequest},
	{"RingHash", NewRingHash},
	{"Maglev", NewMaglev},
}

// chiSquareBound is df + 6·sqrt(2·df): about six standard deviations above
// the chi-square mean, so an honest distribution fails with negligible odds.
func chiSquareBound(df int) float64 { return float64(df) + 6*math.Sqrt(2*float64(df)) }

func TestDistribution(t *testing.T) {
	weighted := func(i int) uint32 { return uint32(1 + i%4) }
	for _, s := range strategies {
		for _, w := range []struct {
			name string
			f    func(int) uint32
		}{{"equal", nil}, {"weighted", weighted}} {
			if w.f != nil && (s.name == "RoundRobin" || s.name == "Random") {
				continue // these ignore weights by definition
			}
			t.Run(s.name+"/"+w.name, func(t *testing.T) {
				bs := mkBackends(20, w.f)
				p, err := s.new(bs, Config{Seed: 7})
				if err != nil {
					t.Fatal(err)
				}
				const n = 200000
				counts := map[string]int{}
				var r Request
				for i := range n {
					r.Hash = mix(uint64(i))
					res, err := p.Pick(&r)
					if err != nil {
						t.Fatal(err)
					}
					counts[res.Backend.Name]++
					res.Done()
				}
				var sum float64
				for _, b := range bs {
					sum += float64(b.weight())
				}
				var chi float64
				for _, b := range bs {
					exp := n * float64(b.weight()) / sum
					d := float64(counts[b.Name]) - exp
					chi += d * d / exp
				}
				// Hash strategies are deterministic; their table imbalance is
				// bounded by the quality tests, so allow a looser bound here.
				bound := chiSquareBound(len(bs) - 1)
				if s.name == "RingHash" {
					bound = 0.05 * n // ring shares deviate by a few percent at 1024 points
				}
				if s.name == "LeastRequest" && w.f != nil {
					// Envoy's P2C with idle backends prefers the heavier of
					// two, so shares rise with weight but are not proportional.
					for i := 4; i < len(bs); i++ {
						if counts[bs[i].Name] < counts[bs[i-1].Name]*9/10 && bs[i].Weight > bs[i-1].Weight {
							t.Errorf("weight %d got %d < weight %d got %d", bs[i].Weight, counts[bs[i].Name], bs[i-1].Weight, counts[bs[i-1].Name])
						}
					}
					return
				}
				if chi > bound {
					t.Errorf("chi-square = %.1f; want <= %.1f (counts %v)", chi, bound, counts)
				}
			})
		}
	}
}

func TestWeightedRoundRobinSmooth(t *testing.T) {
	bs := mkBackends(3, func(i int) uint32 { return []uint32{5, 1, 1}[i] })
	p, err := NewWeightedRoundRobin(bs, Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	run, maxRun, last := 0, 0, ""
	for range 700 {
		res := mustPick(t, p, &Request{})
		if res.Backend.Name == last {
			run++
		} else {
			run, last = 1, res.Backend.Name
		}
		maxRun = max(maxRun, run)
	}
	// nginx's smooth sequence for 5,1,1 is a a b a c a a: runs of at most 2
	// nginx's smooth cycle for 5,1,1 is a a b a c a a: runs of 2 inside a
	// cycle, 4 where two cycles meet.
	if maxRun > 4 {
		t.Errorf("max run = %d; want <= 4", maxRun)
	}
	wr := p.(*weightedRR)
	run, maxRun = 0, 0
	for i := range wr.seq {
		if i > 0 && wr.seq[i] == wr.seq[i-1] {
			run++
		} else {
			run = 1
		}
		maxRun = max(maxRun, run)
	}
	if maxRun > 2 {
		t.Errorf("schedule %v has a run of %d; want <= 2", wr.seq, maxRun)
	}
}

// TestHealth pins what a Picker chooses from: every backend it is given except
// those the caller marked Unhealthy, with Envoy's panic threshold.
func TestHealth(t *testing.T) {
	tests := []struct {
		name    string
		bs      []Backend
		cfg     Config
		want    []string
		wantErr error
	}{
		// Readiness is not the balancer's: endpoints.AppendUsable decides it once,
		// and the balancer takes every backend it is given.
		{"every backend given is picked", []Backend{{Name: "a"}, {Name: "b"}}, Config{}, []string{"a", "b"}, nil},
		{"unhealthy skipped", []Backend{{Name: "a"}, {Name: "b", Unhealthy: true}}, Config{}, []string{"a"}, nil},
		{"all unhealthy", []Backend{{Name: "a", Unhealthy: true}}, Config{}, nil, ErrNoBackend},
		{"none given", nil, Config{}, nil, ErrNoBackend},
		{"panic", []Backend{{Name: "a"}, {Name: "b", Unhealthy: true}, {Name: "c", Unhealthy: true}}, Config{PanicThreshold: 50}, []string{"a", "b", "c"}, nil},
		{"above panic", []Backend{{Name: "a"}, {Name: "b"}, {Name: "c", Unhealthy: true}}, Config{PanicThreshold: 50}, []string{"a", "b"}, nil},
		{"duplicate", []Backend{{Name: "a"}, {Name: "a"}}, Config{}, nil, ErrDuplicateBackend},
	}
	for _, s := range strategies {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				p, err := s.new(tt.bs, tt.cfg)
				if err != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("new = %v; want %v", err, tt.wantErr)
					}
					return
				}
				seen := map[string]bool{}
				for i := range 2000 {
					res, err := p.Pick(&Request{Hash: mix(uint64(i))})
					if tt.wantErr != nil {
						if !errors.Is(err, tt.wantErr) {
							t.Fatalf("Pick err = %v; want %v", err, tt.wantErr)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					seen[res.Backend.Name] = true
					res.Done()
				}
				if len(seen) != len(tt.want) {
					t.Errorf("picked %v; want %v", seen, tt.want)
				}
				for _, w := range tt.want {
					if !seen[w] {
						t.Errorf("picked %v; want %v", seen, tt.want)
					}
				}
			})
		}
	}
}

func TestMaglevQuality(t *testing.T) {
	bs := mkBackends(100, nil)
	table, err := MaglevTable(bs, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	q := TableQuality(table, bs)
	if q.MaxOverIdeal > 0.01 || q.MinSlots == 0 {
		t.Errorf("TableQuality = %+v; want MaxOverIdeal <= 0.01, MinSlots > 0", q)
	}
	// Same set in another order: the same backend in every slot.
	rev := append([]Backend(nil), bs...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	t2, _ := MaglevTable(rev, 0, 0)
	for s := range table {
		if bs[table[s]].Name != rev[t2[s]].Name {
			t.Fatalf("slot %d: %s vs %s", s, bs[table[s]].Name, rev[t2[s]].Name)
		}
	}
	// Weights: every backend gets at least one slot even at 1:1000.
	w := mkBackends(10, func(i int) uint32 { return []uint32{1000, 1}[min(i, 1)] })
	tw, _ := MaglevTable(w, 1009, 0)
	if q := TableQuality(tw, w); q.MinSlots < 1 {
		t.Errorf("weighted MinSlots = %d; want >= 1", q.MinSlots)
	}
	if _, err := MaglevTable(bs, 65536, 0); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("MaglevTable(size 65536) err = %v; want ErrInvalidConfig", err)
	}
}

func TestDisruption(t *testing.T) {
	const n = 50
	bs := mkBackends(n, nil)
	keys := make([]uint64, 100000)
	for i := range keys {
		keys[i] = mix(uint64(i) + 12345)
	}
	for _, s := range []struct {
		name  string
		new   ctor
		bound float64
	}{{"Maglev", NewMaglev, 2.0 / n}, {"RingHash", NewRingHash, 2.0 / n}} {
		a, _ := s.new(bs, Config{})
		b, _ := s.new(bs[1:], Config{})
		got := KeysMoved(a, b, keys)
		t.Logf("%s: %.4f of keys moved removing 1 of %d (ideal %.4f)", s.name, got, n, 1.0/n)
		if got < 1.0/n*0.9 || got > s.bound {
			t.Errorf("%s KeysMoved = %.4f; want in [%.4f, %.4f]", s.name, got, 0.9/n, s.bound)
		}
	}
}

func TestBoundedLoad(t *testing.T) {
	for _, s := range []ctor{NewMaglev, NewRingHash} {
		bs := mkBackends(10, nil)
		p, err := s(bs, Config{LoadFactor: 1.25})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		var held []Result
		for range 100 {
			res := mustPick(t, p, &Request{Hash: 42}) // one hot key
			counts[res.Backend.Name]++
			held = append(held, res)
		}
		for name, c := range counts {
			if c > int(math.Ceil(1.25*100/10)) {
				t.Errorf("%s got %d in flight; want <= %d", name, c, 13)
			}
		}
		for _, r := range held {
			r.Done()
		}
		if _, err := s(bs, Config{LoadFactor: 0.5}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("LoadFactor 0.5 err = %v; want ErrInvalidConfig", err)
		}
	}
}

func TestLeastRequestSkew(t *testing.T) {
	// Backend 0 is ten times slower: requests finish after 10 ticks there,
	// 1 tick elsewhere. Least request must send it less than round robin.
	run := func(p Picker) int {
		type inflight struct {
			r   Result
			end int
		}
		var q []inflight
		slow := 0
		for tick := range 20000 {
			kept := q[:0]
			for _, f := range q {
				if f.end <= tick {
					f.r.Done()
				} else {
					kept = append(kept, f)
				}
			}
			q = kept
			for range 4 {
				r := mustPick(t, p, &Request{})
				d := 1
				if r.Backend.Name == "pod-0000" {
					d, slow = 10, slow+1
				}
				q = append(q, inflight{r, tick + d})
			}
		}
		return slow
	}
	bs := mkBackends(4, nil)
	lr, _ := NewLeastRequest(bs, Config{})
	rr, _ := NewRoundRobin(bs, Config{})
	l, r := run(lr), run(rr)
	if l >= r*3/4 {
		t.Errorf("slow backend got %d from least request, %d from round robin; want < 3/4", l, r)
	}
}

func TestAffinity(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	var h Holder
	bs := mkBackends(10, nil)
	p, _ := NewRandom(bs, Config{})
	h.Store(p)
	a, err := NewAffinity(&h, AffinityConfig{Now: clock, MaxEntries: 100, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Backends(); len(got) != len(bs) {
		t.Fatalf("Backends() = %d backends; want the held picker's %d", len(got), len(bs))
	}
	c := netip.MustParseAddr("192.0.2.1")
	first := mustPick(t, a, &Request{Client: c})
	for range 50 {
		now = now.Add(30 * time.Second)
		if r := mustPick(t, a, &Request{Client: c}); r.Backend.Name != first.Backend.Name {
			t.Fatalf("sticky pick = %s; want %s", r.Backend.Name, first.Backend.Name)
		}
	}
	// Remove the remembered backend: re-pick.
	var rest []Backend
	for _, b := range bs {
		if b.Name != first.Backend.Name {
			rest = append(rest, b)
		}
	}
	p2, _ := NewRandom(rest, Config{})
	h.Store(p2)
	if r := mustPick(t, a, &Request{Client: c}); r.Backend.Name == first.Backend.Name {
		t.Fatalf("pick after removal = %s; want another", r.Backend.Name)
	}
	// Memory bound and expiry.
	for i := range 1000 {
		mustPick(t, a, &Request{Client: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})})
	}
	if a.Len() > 100 {
		t.Errorf("Len = %d; want <= 100", a.Len())
	}
	now = now.Add(2 * time.Minute)
	a.Reclaim()
	if a.Len() != 0 {
		t.Errorf("Len after expiry = %d; want 0", a.Len())
	}
	for _, tt := range []time.Duration{-1, MaxAffinityTimeout + 1} {
		if _, err := NewAffinity(&h, AffinityConfig{Timeout: tt}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewAffinity(%v) err = %v; want ErrInvalidConfig", tt, err)
		}
	}
	if d, _ := NewAffinity(&h, AffinityConfig{}); d.cfg.Timeout != 10800*time.Second {
		t.Errorf("default timeout = %v", d.cfg.Timeout)
	}
}

// TestAffinityFull: with every remembered client live, a new client is
// still served but not remembered; once entries expire, Pick makes room by
// itself.
func TestAffinityFull(t *testing.T) {
	now := time.Unix(0, 0)
	var h Holder
	p, _ := NewRoundRobin(mkBackends(10, nil), Config{})
	h.Store(p)
	a, err := NewAffinity(&h, AffinityConfig{Now: func() time.Time { return now }, MaxEntries: 32, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	client := func(i int) *Request { return &Request{Client: netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})} }
	for i := range 1000 {
		if _, err := a.Pick(client(i)); err != nil {
			t.Fatalf("Pick(client %d) = %v", i, err)
		}
	}
	full := a.Len()
	if full > 32 || full < 16 {
		t.Fatalf("Len = %d; want between 16 and 32", full)
	}
	if _, err := a.Pick(client(5000)); err != nil || a.Len() != full {
		t.Errorf("new client on a full table: err %v, Len %d; want served, Len still %d", err, a.Len(), full)
	}
	now = now.Add(2 * time.Minute)
	for i := 2000; i < 3000; i++ {
		mustPick(t, a, client(i))
	}
	if got := a.Len(); got != full {
		t.Errorf("Len after expiry and 1000 new clients = %d; want %d (the expired replaced)", got, full)
	}
	if _, err := NewAffinity(&h, AffinityConfig{MaxEntries: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewAffinity(MaxEntries -1) err = %v; want ErrInvalidConfig", err)
	}
}

func TestZeroHolder(t *testing.T) {
	var h Holder
	if _, err := h.Pick(&Request{}); !errors.Is(err, ErrNoBackend) {
		t.Errorf("zero Holder Pick err = %v; want ErrNoBackend", err)
	}
	if got := h.Backends(); got != nil {
		t.Errorf("zero Holder Backends() = %v; want nil", got)
	}
	Result{}.Done()
}

func TestConcurrentPickSwap(t *testing.T) {
	var h Holder
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r, err := h.Pick(&Request{Hash: uint64(i * g)})
				switch {
				case err == nil:
					r.Done()
				case !errors.Is(err, ErrNoBackend): // only before the first Store
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 200 {
		s := strategies[i%len(strategies)]
		p, err := s.new(mkBackends(1+i%20, nil), Config{TableSize: 1009})
		if err != nil {
			t.Fatal(err)
		}
		h.Store(p)
	}
	close(stop)
	wg.Wait()
}

func TestNoAllocs(t *testing.T) {
	for _, s := range strategies {
		p, _ := s.new(mkBackends(100, nil), Config{})
		r := &Request{Hash: 99}
		var err error
		if n := testing.AllocsPerRun(1000, func() { sink, err = p.Pick(r); sink.Done() }); n != 0 || err != nil {
			t.Errorf("%s Pick allocs = %v, err %v; want 0, nil", s.name, n, err)
		}
	}
	for _, s := range []ctor{NewMaglev, NewRingHash} {
		p, _ := s(mkBackends(100, nil), Config{LoadFactor: 1.5})
		r := &Request{Hash: 99}
		var err error
		if n := testing.AllocsPerRun(1000, func() { sink, err = p.Pick(r); sink.Done() }); n != 0 || err != nil {
			t.Errorf("bounded Pick allocs = %v, err %v; want 0, nil", n, err)
		}
	}
	var h Holder
	rr, _ := NewRoundRobin(mkBackends(100, nil), Config{})
	h.Store(rr)
	a, _ := NewAffinity(&h, AffinityConfig{})
	r := &Request{Client: netip.MustParseAddr("192.0.2.7")}
	var err error
	if n := testing.AllocsPerRun(1000, func() { sink, err = a.Pick(r); sink.Done() }); n != 0 || err != nil {
		t.Errorf("Affinity Pick of a remembered client allocs = %v, err %v; want 0, nil", n, err)
	}
}

func benchPick(b *testing.B, p Picker) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := Request{}
		for pb.Next() {
			r.Hash = mix(r.Hash + 1)
			res, err := p.Pick(&r)
			if err != nil {
				b.Error(err) // a picker that fails must fail the benchmark
				return
			}
			res.Done()
		}
	})
}

func BenchmarkPick(b *testing.B) {
	for _, s := range strategies {
		p, _ := s.new(mkBackends(100, nil), Config{})
		b.Run(s.name, func(b *testing.B) { benchPick(b, p) })
		b.Run(s.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			r := Request{}
			for range b.N {
				r.Hash = mix(r.Hash + 1)
				res, err := p.Pick(&r)
				if err != nil {
					b.Fatal(err)
				}
				res.Done()
			}
		})
	}
	p, _ := NewRingHash(mkBackends(100, nil), Config{MinRingSize: 4096, MaxRingSize: 4096})
	b.Run("RingHash4096", func(b *testing.B) { benchPick(b, p) })
	// Affinity over 1,000 known clients, each goroutine its own sequence.
	var h Holder
	rr, _ := NewRoundRobin(mkBackends(100, nil), Config{})
	h.Store(rr)
	a, _ := NewAffinity(&h, AffinityConfig{})
	b.Run("Affinity", func(b *testing.B) {
		b.ReportAllocs()
		var seq atomic.Uint32
		b.RunParallel(func(pb *testing.PB) {
			i := seq.Add(1) * 7919
			r := Request{}
			for pb.Next() {
				i++
				r.Client = netip.AddrFrom4([4]byte{10, 3, byte(i >> 8 & 3), byte(i)})
				res, err := a.Pick(&r)
				if err != nil {
					b.Error(err)
					return
				}
				res.Done()
			}
		})
	})
}

func BenchmarkMaglevBuild(b *testing.B) {
	bs := mkBackends(1000, nil)
	b.ReportAllocs()
	for range b.N {
		if _, err := MaglevTable(bs, DefaultTableSize, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSlowStart(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	tests := []struct {
		name string
		age  time.Duration
		want uint32 // effective weight of a weight-1 backend, ×100
	}{
		{"just ready floors at 10%", 0, 10},
		{"half way", 30 * time.Second, 50},
		{"done", time.Minute, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := mkBackends(2, nil)
			bs[0].ReadySince = now.Add(-tt.age)
			p, err := NewWeightedRandom(bs, Config{SlowStart: time.Minute, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Backends()[0].Weight; got != tt.want {
				t.Errorf("weight after %v = %d; want %d", tt.age, got, tt.want)
			}
			if got := p.Backends()[1].Weight; got != 100 {
				t.Errorf("old backend weight = %d; want 100", got)
			}
			if bs[0].Weight != 0 {
				t.Errorf("caller's slice modified: %d", bs[0].Weight)
			}
		})
	}
}

func TestRingTableSize(t *testing.T) {
	tests := []struct {
		name             string
		n                int
		weight           func(int) uint32
		minSize, maxSize uint64
		wantMin, wantMax int
	}{
		{"min 1024 for few backends", 3, nil, 0, 0, 1024, 1030},
		{"weights raise the ring", 2, func(i int) uint32 { return []uint32{1, 3000}[i] }, 0, 0, 3001, 3002},
		{"max clamps", 2, func(i int) uint32 { return []uint32{1, 3000}[i] }, 0, 2048, 2048, 2050},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := mkBackends(tt.n, tt.weight)
			r, err := RingTable(bs, tt.minSize, tt.maxSize, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(r.Hashes); got < tt.wantMin || got > tt.wantMax {
				t.Errorf("RingTable size = %d; want [%d, %d]", got, tt.wantMin, tt.wantMax)
			}
			seen := map[uint32]bool{}
			for _, b := range r.Backends {
				seen[b] = true
			}
			if len(seen) != tt.n {
				t.Errorf("ring holds %d backends; want %d", len(seen), tt.n)
			}
		})
	}
	if _, err := RingTable(mkBackends(1, nil), 10, 5, 0); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("min > max err = %v; want ErrInvalidConfig", err)
	}
}

// TestRingLookup checks the branch-free search against sort.Search: the
// first point at or after the key's hash, wrapping past the last.
func TestRingLookup(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 100, 1024, 1031} {
		r := Ring{Hashes: make([]uint64, n)}
		for i := range r.Hashes {
			r.Hashes[i] = mix(uint64(i)*0x9e3779b97f4a7c15 + 1)
		}
		slices.Sort(r.Hashes)
		keys := []uint64{0, math.MaxUint64}
		for i := range 2000 {
			keys = append(keys, uint64(i)*0x2545f4914f6cdd1d)
		}
		for _, k := range keys {
			h := mix(k)
			want := sort.Search(n, func(i int) bool { return r.Hashes[i] >= h })
			if want == n {
				want = 0
			}
			if got := r.Lookup(k); got != want {
				t.Fatalf("ring of %d: Lookup(%#x) = %d; want %d", n, k, got, want)
			}
		}
		// Keys hashing exactly onto a point land on it.
		for i, p := range r.Hashes {
			if got := r.lowerBound(p); got != i && r.Hashes[got] != p {
				t.Fatalf("ring of %d: point %d found at %d", n, i, got)
			}
		}
	}
}

// TestStripesRandomStart: without a seed every stripe of a new counter
// starts at random, so that pickers rebuilt on many nodes do not herd onto
// one backend; with a seed the starts repeat.
func TestStripesRandomStart(t *testing.T) {
	var a, b, c, d stripedCounter
	a.init(0)
	b.init(0)
	differ := 0
	for i := 1; i < numStripes; i++ {
		if a.s[i].n.Load() != b.s[i].n.Load() {
			differ++
		}
	}
	if differ == 0 {
		t.Errorf("two unseeded counters start stripes 1..%d at the same places", numStripes-1)
	}
	c.init(7)
	d.init(7)
	for i := range c.s {
		if c.s[i].n.Load() != d.s[i].n.Load() {
			t.Fatalf("seeded counters differ at stripe %d", i)
		}
	}
}
