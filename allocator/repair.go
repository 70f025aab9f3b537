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
	return repairValues(r.c, held, r.offset, r.addr)
}

// Repair reconciles the allocator with the held ports; see IPRange.Repair.
func (r *PortRange) Repair(held []uint16) RepairReport[uint16] {
	return repairValues(r.c, held, r.offset, func(o uint64) uint16 { return r.base + uint16(o) })
}

// repairValues runs c's repair for values mapped to offsets by off and back by val.
func repairValues[T comparable](c *core, held []T, off func(T) (uint64, bool), val func(uint64) T) RepairReport[T] {
	var rep RepairReport[T]
	offs := make([]uint64, 0, len(held))
	for _, v := range held {
		o, ok := off(v)
		if !ok {
			rep.OutOfRange = append(rep.OutOfRange, v)
			continue
		}
		offs = append(offs, o)
	}
	c.repair(offs, func(k int, o uint64) { fillReport(&rep, k, val(o)) })
	return rep
}
