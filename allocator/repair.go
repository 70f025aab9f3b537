package allocator

import "net/netip"

// leakStrikes is how many consecutive repairs an allocation must stay unheld before
// it is freed, as Kubernetes' repair controller does: a holder may still be in flight.
const leakStrikes = 3

// RepairReport says what a repair pass found and did.
type RepairReport[T comparable] struct {
	Duplicates []T // values claimed by more than one holder (left allocated)
	OutOfRange []T // holders outside the range (ignored)
	Remarked   []T // held but not allocated: now allocated
	Leaked     []T // allocated but unheld, not yet for leakStrikes repairs
	Freed      []T // unheld for leakStrikes consecutive repairs: now released
}

// repair reconciles the bitmap with the held offsets. Callers pass offsets already
// checked to be in range.
func (c *core) repair(held []uint64, fn func(kind int, o uint64)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := newBitset(c.size)
	for _, o := range held {
		if !seen.set(o) {
			fn(repairDup, o)
			continue
		}
		if c.bm.set(o) {
			fn(repairRemark, o)
		}
	}
	strikes := make(map[uint64]int)
	var unheld []uint64
	c.bm.each(func(o uint64) bool {
		if !seen.has(o) {
			unheld = append(unheld, o)
		}
		return true
	})
	for _, o := range unheld {
		n := c.leaks[o] + 1
		if n >= leakStrikes {
			c.bm.clear(o)
			fn(repairFreed, o)
			continue
		}
		strikes[o] = n
		fn(repairLeak, o)
	}
	c.leaks = strikes
}

const (
	repairDup = iota
	repairRemark
	repairLeak
	repairFreed
)

func fillReport[T comparable](rep *RepairReport[T], kind int, v T) {
	switch kind {
	case repairDup:
		rep.Duplicates = append(rep.Duplicates, v)
	case repairRemark:
		rep.Remarked = append(rep.Remarked, v)
	case repairLeak:
		rep.Leaked = append(rep.Leaked, v)
	case repairFreed:
		rep.Freed = append(rep.Freed, v)
	}
}

// Repair reconciles the allocator with held, the addresses that objects actually hold.
// Call it periodically; a leaked address is freed on the third consecutive repair that
// finds it unheld.
func (r *IPRange) Repair(held []netip.Addr) RepairReport[netip.Addr] {
	var rep RepairReport[netip.Addr]
	offs := make([]uint64, 0, len(held))
	for _, a := range held {
		o, ok := r.offset(a)
		if !ok {
			rep.OutOfRange = append(rep.OutOfRange, a)
			continue
		}
		offs = append(offs, o)
	}
	r.c.repair(offs, func(k int, o uint64) { fillReport(&rep, k, r.addr(o)) })
	return rep
}

// Repair reconciles the allocator with the held ports; see IPRange.Repair.
func (r *PortRange) Repair(held []uint16) RepairReport[uint16] {
	var rep RepairReport[uint16]
	offs := make([]uint64, 0, len(held))
	for _, p := range held {
		o, err := r.offset(p)
		if err != nil {
			rep.OutOfRange = append(rep.OutOfRange, p)
			continue
		}
		offs = append(offs, o)
	}
	r.c.repair(offs, func(k int, o uint64) { fillReport(&rep, k, r.base+uint16(o)) })
	return rep
}
