// Package balancer_test compares svcnet's balancer with other libraries on
// the same inputs: stathat/consistent for a hash ring (here) and Cilium's
// pkg/maglev for Maglev tables (maglev_test.go).
package balancer_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"

	"github.com/stathat/consistent"
	"github.com/svcnet/svcnet/balancer"
)

const nBackends = 100

func names() []string {
	n := make([]string, nBackends)
	for i := range n {
		n[i] = fmt.Sprintf("pod-%04d", i)
	}
	return n
}

func backends() []balancer.Backend {
	var bs []balancer.Backend
	for i, n := range names() {
		bs = append(bs, balancer.Backend{Name: n,
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 80)})
	}
	return bs
}

// keys are the same 4,096 inputs for every library: strings for stathat,
// which hashes internally, and their FNV-1a hashes for svcnet.
func keys() ([]string, []uint64) {
	s := make([]string, 4096)
	h := make([]uint64, len(s))
	for i := range s {
		s[i] = "client-" + strconv.Itoa(i)
		x := uint64(14695981039346656037)
		for j := 0; j < len(s[i]); j++ {
			x ^= uint64(s[i][j])
			x *= 1099511628211
		}
		h[i] = x
	}
	return s, h
}

func BenchmarkRingLookup(b *testing.B) {
	ks, hs := keys()
	ring, err := balancer.NewRingHash(backends(), balancer.Config{MinRingSize: 4096, MaxRingSize: 4096})
	if err != nil {
		b.Fatal(err)
	}
	maglev, err := balancer.NewMaglev(backends(), balancer.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("svcnet/RingHash", func(b *testing.B) { pickParallel(b, ring, hs) })
	b.Run("svcnet/Maglev", func(b *testing.B) { pickParallel(b, maglev, hs) })
	b.Run("stathat", func(b *testing.B) {
		c := consistent.New()
		c.NumberOfReplicas = 41 // 100 × 41 ≈ 4,096 points, as above
		c.Set(names())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c.Get(ks[i&4095])
				i++
			}
		})
	})
}

func pickParallel(b *testing.B, p balancer.Picker, hs []uint64) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var r balancer.Request
		i := 0
		for pb.Next() {
			r.Hash = hs[i&4095]
			i++
			if _, err := p.Pick(&r); err != nil {
				b.Error(err) // a picker that fails must fail the benchmark
				return
			}
		}
	})
}

func BenchmarkRingBuild(b *testing.B) {
	b.Run("svcnet/RingHash", func(b *testing.B) {
		bs := backends()
		b.ReportAllocs()
		for range b.N {
			balancer.RingTable(bs, 4096, 4096, 0)
		}
	})
	b.Run("stathat", func(b *testing.B) {
		n := names()
		b.ReportAllocs()
		for range b.N {
			c := consistent.New()
			c.NumberOfReplicas = 41
			c.Set(n)
		}
	})
}

// TestSameKeysBalance checks both rings on the same keys, so the speed
// comparison is between rings of comparable quality.
func TestSameKeysBalance(t *testing.T) {
	ks, hs := keys()
	p, _ := balancer.NewRingHash(backends(), balancer.Config{MinRingSize: 4096, MaxRingSize: 4096})
	c := consistent.New()
	c.NumberOfReplicas = 41
	c.Set(names())
	ours, theirs := map[string]int{}, map[string]int{}
	for i := range ks {
		r, err := p.Pick(&balancer.Request{Hash: hs[i]})
		if err != nil {
			t.Fatal(err)
		}
		ours[r.Backend.Name]++
		n, _ := c.Get(ks[i])
		theirs[n]++
	}
	mx := func(m map[string]int) int {
		v := 0
		for _, c := range m {
			v = max(v, c)
		}
		return v
	}
	t.Logf("max keys on one backend (ideal %d): svcnet %d, stathat %d", len(ks)/nBackends, mx(ours), mx(theirs))
	if len(ours) < nBackends*9/10 {
		t.Errorf("svcnet ring used %d of %d backends", len(ours), nBackends)
	}
}
