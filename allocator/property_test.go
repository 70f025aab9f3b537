package allocator

import (
	"bytes"
	"cmp"
	"errors"
	"iter"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// allocLike is what IPRange and PortRange have in common.
type allocLike[T comparable] interface {
	Allocate(T) error
	AllocateNext() (T, error)
	Release(T) error
	Has(T) bool
	Size() uint64
	Used() uint64
	All() iter.Seq[T]
	Snapshot() []byte
	Restore([]byte) error
}

// propCase describes a range independently of the implementation: which values are
// in it, how to draw one (in or near it), and, for small ranges, every value with the
// static band first.
type propCase[T comparable] struct {
	name    string
	newFn   func(cfg Config) (allocLike[T], error)
	size    uint64
	valid   func(T) bool
	draw    func(*rand.Rand) T
	compare func(a, b T) int
	values  []T // every value, for ranges small enough to check the band rule
	static  []T // the static band among values
	ops     int
}

func runProperty[T comparable](t *testing.T, pc propCase[T]) {
	for seed := range uint64(3) {
		for _, strat := range []Strategy{RandomScan, LowestFree} {
			rng := rand.New(rand.NewPCG(seed, 99))
			r, err := pc.newFn(Config{Strategy: strat, Rand: rand.NewPCG(seed, 1)})
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != pc.size {
				t.Fatalf("%s: Size = %d; want %d", pc.name, r.Size(), pc.size)
			}
			model := map[T]bool{}
			var held []T // model's keys, for picking one to release
			for i := range pc.ops {
				switch op := rng.IntN(20); {
				case op < 8:
					v, err := r.AllocateNext()
					if errors.Is(err, ErrFull) {
						if uint64(len(model)) != pc.size {
							t.Fatalf("%s op %d: AllocateNext = ErrFull with %d of %d used", pc.name, i, len(model), pc.size)
						}
						continue
					}
					if err != nil || !pc.valid(v) || model[v] {
						t.Fatalf("%s op %d: AllocateNext = %v, %v: error, out of range or already held", pc.name, i, v, err)
					}
					if slices.Contains(pc.static, v) {
						for _, x := range pc.values {
							if !slices.Contains(pc.static, x) && !model[x] {
								t.Fatalf("%s op %d: AllocateNext = %v from the static band while %v is free", pc.name, i, v, x)
							}
						}
					}
					model[v] = true
					held = append(held, v)
				case op < 13:
					v := pc.draw(rng)
					if rng.IntN(3) == 0 && len(held) > 0 {
						v = held[rng.IntN(len(held))]
					}
					err := r.Allocate(v)
					switch {
					case !pc.valid(v):
						if !errors.Is(err, ErrNotInRange) {
							t.Fatalf("%s op %d: Allocate(%v) = %v; want ErrNotInRange", pc.name, i, v, err)
						}
					case model[v]:
						if !errors.Is(err, ErrAllocated) {
							t.Fatalf("%s op %d: Allocate(%v) = %v; want ErrAllocated", pc.name, i, v, err)
						}
					case err != nil:
						t.Fatalf("%s op %d: Allocate(%v) = %v; want nil", pc.name, i, v, err)
					default:
						model[v] = true
						held = append(held, v)
					}
				case op < 19:
					v := pc.draw(rng)
					if len(held) > 0 && rng.IntN(4) != 0 {
						j := rng.IntN(len(held))
						v = held[j]
						held[j] = held[len(held)-1]
						held = held[:len(held)-1]
					}
					err := r.Release(v)
					if pc.valid(v) != (err == nil) {
						t.Fatalf("%s op %d: Release(%v) = %v; valid %v", pc.name, i, v, err, pc.valid(v))
					}
					if model[v] {
						delete(model, v)
						held = slices.DeleteFunc(held, func(x T) bool { return x == v })
					}
				default:
					checkAll(t, pc, r, model)
					s1 := r.Snapshot()
					r2, _ := pc.newFn(Config{})
					if err := r2.Restore(s1); err != nil {
						t.Fatalf("%s op %d: Restore = %v", pc.name, i, err)
					}
					if s2 := r2.Snapshot(); !bytes.Equal(s1, s2) {
						t.Fatalf("%s op %d: snapshot → restore → snapshot differs", pc.name, i)
					}
					checkAll(t, pc, r2, model)
				}
				if r.Used() != uint64(len(model)) {
					t.Fatalf("%s op %d: Used = %d; want %d", pc.name, i, r.Used(), len(model))
				}
				if v := pc.draw(rng); r.Has(v) != model[v] {
					t.Fatalf("%s op %d: Has(%v) = %v; want %v", pc.name, i, v, r.Has(v), model[v])
				}
			}
			checkAll(t, pc, r, model)
		}
	}
}

// checkAll compares All with the model: same values, ascending.
func checkAll[T comparable](t *testing.T, pc propCase[T], r allocLike[T], model map[T]bool) {
	t.Helper()
	var got []T
	for v := range r.All() {
		got = append(got, v)
	}
	want := make([]T, 0, len(model))
	for v := range model {
		want = append(want, v)
	}
	slices.SortFunc(want, pc.compare)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: All = %d values %v…; want %d values %v…", pc.name, len(got), head(got), len(want), head(want))
	}
}

func head[T any](s []T) []T { return s[:min(len(s), 5)] }

func addrsBetween(from, to string) []netip.Addr {
	var out []netip.Addr
	for a, end := netip.MustParseAddr(from), netip.MustParseAddr(to); !end.Less(a); a = a.Next() {
		out = append(out, a)
	}
	return out
}

// drawAddr returns base+k for a k drawn near 0, near span or anywhere up to 2^64.
func drawAddr(rng *rand.Rand, base netip.Addr, span uint64) netip.Addr {
	var k uint64
	switch rng.IntN(4) {
	case 0:
		k = rng.Uint64N(64)
	case 1:
		k = span - 32 + rng.Uint64N(64)
	case 2:
		k = rng.Uint64N(span + 1)
	default:
		k = rng.Uint64()
	}
	return addrAdd(base, k)
}

func TestAllocatorProperties(t *testing.T) {
	short := testing.Short()
	ops := func(n int) int {
		if short {
			return n / 4
		}
		return n
	}
	v4small := netip.MustParsePrefix("10.1.2.0/26")
	t.Run("v4 /26", func(t *testing.T) {
		values := addrsBetween("10.1.2.1", "10.1.2.62")
		runProperty(t, propCase[netip.Addr]{
			name:  "v4 /26",
			newFn: func(cfg Config) (allocLike[netip.Addr], error) { return NewIPRange(v4small, cfg) },
			size:  62,
			valid: func(a netip.Addr) bool {
				return v4small.Contains(a) && a != v4small.Addr() && a != netip.MustParseAddr("10.1.2.63")
			},
			draw:    func(rng *rand.Rand) netip.Addr { return addrAdd(netip.MustParseAddr("10.1.1.250"), rng.Uint64N(80)) },
			compare: netip.Addr.Compare,
			values:  values,
			static:  values[:16],
			ops:     ops(4000),
		})
	})
	v4big := netip.MustParsePrefix("10.96.0.0/12")
	t.Run("v4 /12", func(t *testing.T) {
		runProperty(t, propCase[netip.Addr]{
			name:  "v4 /12",
			newFn: func(cfg Config) (allocLike[netip.Addr], error) { return NewIPRange(v4big, cfg) },
			size:  1<<20 - 2,
			valid: func(a netip.Addr) bool {
				return v4big.Contains(a) && a != v4big.Addr() && a != netip.MustParseAddr("10.111.255.255")
			},
			draw: func(rng *rand.Rand) netip.Addr {
				a := drawAddr(rng, netip.MustParseAddr("10.95.255.240"), 1<<20)
				if !a.Is4() {
					return netip.MustParseAddr("10.96.0.1")
				}
				return a
			},
			compare: netip.Addr.Compare,
			ops:     ops(3000),
		})
	})
	v6 := netip.MustParsePrefix("fd00:5::/64")
	t.Run("v6 /64 sparse", func(t *testing.T) {
		runProperty(t, propCase[netip.Addr]{
			name:  "v6 /64",
			newFn: func(cfg Config) (allocLike[netip.Addr], error) { return NewIPRange(v6, cfg) },
			size:  ^uint64(0),
			valid: func(a netip.Addr) bool { return v6.Contains(a) && a != v6.Addr() },
			draw: func(rng *rand.Rand) netip.Addr {
				return drawAddr(rng, netip.MustParseAddr("fd00:4:ffff:ffff:ffff:ffff:ffff:fff0"), 1<<63)
			},
			compare: netip.Addr.Compare,
			ops:     ops(3000),
		})
	})
	t.Run("v6 from-to across 64 bits", func(t *testing.T) {
		values := addrsBetween("fd00::ffff:ffff:ffff:fff0", "fd00:0:0:1::f")
		runProperty(t, propCase[netip.Addr]{
			name: "v6 from-to",
			newFn: func(cfg Config) (allocLike[netip.Addr], error) {
				return NewIPRangeFromTo(values[0], values[len(values)-1], cfg)
			},
			size:  32,
			valid: func(a netip.Addr) bool { return slices.Contains(values, a) },
			draw: func(rng *rand.Rand) netip.Addr {
				return addrAdd(netip.MustParseAddr("fd00::ffff:ffff:ffff:ffe8"), rng.Uint64N(48))
			},
			compare: netip.Addr.Compare,
			values:  values,
			ops:     ops(3000),
		})
	})
	t.Run("ports", func(t *testing.T) {
		var values []uint16
		for p := uint16(30000); p < 30100; p++ {
			values = append(values, p)
		}
		runProperty(t, propCase[uint16]{
			name:    "ports 30000-30099",
			newFn:   func(cfg Config) (allocLike[uint16], error) { return NewPortRange("30000-30099", cfg) },
			size:    100,
			valid:   func(p uint16) bool { return p >= 30000 && p <= 30099 },
			draw:    func(rng *rand.Rand) uint16 { return 29990 + uint16(rng.IntN(120)) },
			compare: cmp.Compare[uint16],
			values:  values,
			static:  values[:16],
			ops:     ops(4000),
		})
	})
}
