package balancer_test

import (
	"fmt"
	"testing"

	"github.com/cilium/cilium/pkg/loadbalancer"
	"github.com/cilium/cilium/pkg/maglev"

	"github.com/svcnet/svcnet/balancer"
)

// A fixed 12-byte seed, base64, as Cilium's --maglev-hash-seed takes it.
const ciliumSeed = "JLfvgnHc2kaSUFaI"

func maglevInputs(n int) ([]balancer.Backend, map[string]*loadbalancer.Backend) {
	ours := make([]balancer.Backend, n)
	theirs := make(map[string]*loadbalancer.Backend, n)
	for i := range n {
		name := fmt.Sprintf("10.%d.%d.%d:8080", i>>16&255, i>>8&255, i&255)
		ours[i] = balancer.Backend{Name: name, Weight: 1}
		theirs[name] = &loadbalancer.Backend{ID: loadbalancer.BackendID(i + 1), Weight: 1}
	}
	return ours, theirs
}

// TestMaglevQuality checks that both tables give every backend its share
// within a few percent, so the build benchmarks compare equal work.
func TestMaglevQuality(t *testing.T) {
	const n, m = 1000, 65537
	ours, theirs := maglevInputs(n)
	if err := maglev.Init(ciliumSeed, m); err != nil {
		t.Fatal(err)
	}
	for name, table := range map[string][]int{"svcnet": ourTable(t, ours, m), "cilium": maglev.GetLookupTable(theirs, m)} {
		counts := make(map[int]int)
		for _, b := range table {
			counts[b]++
		}
		lo, hi := m, 0
		for _, c := range counts {
			lo, hi = min(lo, c), max(hi, c)
		}
		if len(table) != m || len(counts) != n || float64(hi-lo) > 0.1*float64(m)/n {
			t.Errorf("%s: %d slots, %d backends, slots per backend %d..%d", name, len(table), len(counts), lo, hi)
		}
	}
}

func ourTable(t testing.TB, bs []balancer.Backend, m int) []int {
	tab, err := balancer.MaglevTable(bs, uint64(m), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(tab))
	for i, b := range tab {
		out[i] = int(b)
	}
	return out
}

func BenchmarkMaglevBuild(b *testing.B) {
	for _, m := range []int{16381, 65537} {
		ours, theirs := maglevInputs(1000)
		b.Run(fmt.Sprintf("svcnet/slots=%d", m), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := balancer.MaglevTable(ours, uint64(m), 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("cilium/slots=%d", m), func(b *testing.B) {
			if err := maglev.Init(ciliumSeed, uint64(m)); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for range b.N {
				maglev.GetLookupTable(theirs, uint64(m))
			}
		})
	}
}
