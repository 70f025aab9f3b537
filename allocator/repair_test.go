package allocator

import (
	"net/netip"
	"slices"
	"testing"
)

func TestRepair(t *testing.T) {
	ip := netip.MustParseAddr
	r, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/24"), Config{})
	_ = r.Allocate(ip("10.0.0.1")) // held
	_ = r.Allocate(ip("10.0.0.2")) // leaked
	held := []netip.Addr{ip("10.0.0.1"), ip("10.0.0.3"), ip("10.0.0.3"), ip("10.0.1.1")}
	for pass := 1; pass <= 3; pass++ {
		rep := r.Repair(held)
		if pass == 1 {
			if !slices.Equal(rep.Remarked, []netip.Addr{ip("10.0.0.3")}) {
				t.Errorf("pass 1 Remarked = %v; want [10.0.0.3]", rep.Remarked)
			}
			if !slices.Equal(rep.Duplicates, []netip.Addr{ip("10.0.0.3")}) {
				t.Errorf("pass 1 Duplicates = %v; want [10.0.0.3]", rep.Duplicates)
			}
			if !slices.Equal(rep.OutOfRange, []netip.Addr{ip("10.0.1.1")}) {
				t.Errorf("pass 1 OutOfRange = %v; want [10.0.1.1]", rep.OutOfRange)
			}
		}
		if pass < 3 {
			if !slices.Equal(rep.Leaked, []netip.Addr{ip("10.0.0.2")}) || len(rep.Freed) != 0 || !r.Has(ip("10.0.0.2")) {
				t.Errorf("pass %d Leaked = %v, Freed = %v; want leak kept", pass, rep.Leaked, rep.Freed)
			}
		} else if !slices.Equal(rep.Freed, []netip.Addr{ip("10.0.0.2")}) || r.Has(ip("10.0.0.2")) {
			t.Errorf("pass 3 Freed = %v; want [10.0.0.2] released", rep.Freed)
		}
	}
	if r.Used() != 2 {
		t.Errorf("Used = %d; want 2", r.Used())
	}
}

func TestRepairLeakResetsWhenHeld(t *testing.T) {
	r, _ := NewPortRange("30000-30100", Config{})
	_ = r.Allocate(30010)
	r.Repair(nil)
	r.Repair(nil)
	r.Repair([]uint16{30010}) // held again: strikes reset
	r.Repair(nil)
	if rep := r.Repair(nil); len(rep.Freed) != 0 || !r.Has(30010) {
		t.Errorf("Freed = %v after a reset; want none", rep.Freed)
	}
	if rep := r.Repair(nil); !slices.Equal(rep.Freed, []uint16{30010}) {
		t.Errorf("Freed = %v; want [30010]", rep.Freed)
	}
}

func BenchmarkRepair100k(b *testing.B) {
	r, _ := NewIPRange(netip.MustParsePrefix("10.96.0.0/12"), Config{})
	held := make([]netip.Addr, 0, 100000)
	for range 100000 {
		a, _ := r.AllocateNext()
		held = append(held, a)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Repair(held)
	}
}
