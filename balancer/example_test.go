package balancer_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/svcnet/svcnet/balancer"
)

func backends(weights ...uint32) []balancer.Backend {
	var bs []balancer.Backend
	for i, w := range weights {
		bs = append(bs, balancer.Backend{
			Addr:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 8080),
			Name:   fmt.Sprintf("pod-%c", 'a'+i),
			Weight: w,
		})
	}
	return bs
}

func counts(p balancer.Picker, n int) map[string]int {
	c := map[string]int{}
	for i := range n {
		r, err := p.Pick(&balancer.Request{Hash: uint64(i) * 0x9e3779b97f4a7c15})
		if err != nil {
			panic(err)
		}
		c[r.Backend.Name]++
		r.Done()
	}
	return c
}

func ExampleNewRoundRobin() {
	p, _ := balancer.NewRoundRobin(backends(1, 1, 1), balancer.Config{})
	fmt.Println(counts(p, 6))
	// Output: map[pod-a:2 pod-b:2 pod-c:2]
}

func ExampleNewWeightedRoundRobin() {
	p, _ := balancer.NewWeightedRoundRobin(backends(5, 1, 1), balancer.Config{})
	fmt.Println(counts(p, 7))
	// Output: map[pod-a:5 pod-b:1 pod-c:1]
}

func ExampleNewRandom() {
	bs := backends(1, 1)
	bs[1].Unhealthy = true // taken out by the caller's own health checks
	p, _ := balancer.NewRandom(bs, balancer.Config{})
	fmt.Println(counts(p, 3))
	// Output: map[pod-a:3]
}

func ExampleNewWeightedRandom() {
	p, _ := balancer.NewWeightedRandom(backends(1, 0), balancer.Config{})
	fmt.Println(len(p.Backends()))
	// Output: 2
}

func ExampleNewLeastRequest() {
	p, _ := balancer.NewLeastRequest(backends(1, 1), balancer.Config{})
	// Hold 100 requests open: picking the less loaded of two keeps the
	// backends close to even.
	c := map[string]int{}
	var open []balancer.Result
	for range 100 {
		r, err := p.Pick(&balancer.Request{})
		if err != nil {
			panic(err)
		}
		c[r.Backend.Name]++
		open = append(open, r)
	}
	for _, r := range open {
		r.Done()
	}
	fmt.Println(c["pod-a"]+c["pod-b"], c["pod-a"]-c["pod-b"] <= 20 && c["pod-b"]-c["pod-a"] <= 20)
	// Output: 100 true
}

func ExampleNewRingHash() {
	a, _ := balancer.NewRingHash(backends(1, 1, 1), balancer.Config{})
	b, _ := balancer.NewRingHash(backends(1, 1, 1), balancer.Config{})
	ra, errA := a.Pick(&balancer.Request{Hash: 42})
	rb, errB := b.Pick(&balancer.Request{Hash: 42})
	if errA != nil || errB != nil {
		panic(fmt.Sprint(errA, errB))
	}
	fmt.Println(ra.Backend.Name == rb.Backend.Name)
	// Output: true
}

func ExampleMaglevTable() {
	bs := backends(1, 1, 2)
	table, _ := balancer.MaglevTable(bs, 1009, 0)
	q := balancer.TableQuality(table, bs)
	fmt.Println(len(table), q.MinSlots >= 252, q.MaxOverIdeal < 0.01)
	// Output: 1009 true true
}

func ExampleNewAffinity() {
	var h balancer.Holder
	p, _ := balancer.NewRandom(backends(1, 1, 1, 1), balancer.Config{})
	h.Store(p)
	now := time.Unix(0, 0)
	a, _ := balancer.NewAffinity(&h, balancer.AffinityConfig{Now: func() time.Time { return now }})
	client := netip.MustParseAddr("192.0.2.7")
	first, err := a.Pick(&balancer.Request{Client: client})
	if err != nil {
		panic(err)
	}
	now = now.Add(time.Hour)
	again, err := a.Pick(&balancer.Request{Client: client})
	if err != nil {
		panic(err)
	}
	fmt.Println(first.Backend.Name == again.Backend.Name)
	// Output: true
}
