package dnsname

// indexSet is an open-addressing hash table of indices into a slice its
// user owns, keyed by whatever the user hashes. It stands in for a Go map
// in the record builder: one flat slice of int32, several times smaller
// than a map of the same keys and never scanned by the collector.
type indexSet struct {
	slots []int32 // an index, or -1 for an empty slot
	mask  uint64
}

// newIndexSet returns a set with room for n indices.
func newIndexSet(n int) indexSet {
	size := 8
	for size < 2*n { // at most half full: probes stay short
		size <<= 1
	}
	slots := make([]int32, size)
	for i := range slots {
		slots[i] = -1
	}
	return indexSet{slots: slots, mask: uint64(size - 1)}
}

// lookup returns the slot holding the index with hash h for which same
// holds, or the empty slot where that index belongs. The set must not
// hold more indices than it was made for.
func (s indexSet) lookup(h uint64, same func(i int32) bool) *int32 {
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		if p := &s.slots[i]; *p < 0 || same(*p) {
			return p
		}
	}
}
