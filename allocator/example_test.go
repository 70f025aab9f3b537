package allocator_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/svcnet/svcnet/allocator"
)

func ExampleIPRange() {
	r, err := allocator.NewIPRange(netip.MustParsePrefix("10.96.0.0/27"), allocator.Config{Strategy: allocator.LowestFree})
	if err != nil {
		panic(err)
	}
	ip, _ := r.AllocateNext() // upper band first: the static band is the lowest 16 of 30
	fmt.Println(ip, r.Size(), r.Used())
	fmt.Println(r.Allocate(ip))
	// Output:
	// 10.96.0.17 30 1
	// allocator: value already allocated: 10.96.0.17
}

func ExamplePortRange() {
	r, _ := allocator.NewPortRange("30000-32767", allocator.Config{Rand: rand.NewPCG(1, 2)})
	_ = r.Allocate(30080) // explicit requests may take the static band
	fmt.Println(r.Size(), allocator.PortStaticBand(r.Size()), r.Has(30080))
	// Output: 2768 86 true
}
