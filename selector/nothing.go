package selector

import "math"

// MatchesNothing reports whether no label set can satisfy s: the zero
// Selector, [Nothing], and selectors whose requirements contradict each other
// on some key, such as "a,!a", "a=b,a!=b", "a in (x),a in (y)" or "a>5,a<6".
// It is exact: when it reports false, some label set matches s.
func (s Selector) MatchesNothing() bool {
	if s.kind != kindReqs {
		return true
	}
	// Requirements on one key are adjacent: constructors sort by key.
	for i := 0; i < len(s.reqs); {
		j := i + 1
		for j < len(s.reqs) && s.reqs[j].key == s.reqs[i].key {
			j++
		}
		if unsatisfiable(s.reqs[i:j]) {
			return true
		}
		i = j
	}
	return false
}

// unsatisfiable reports whether no single label (present or absent) meets
// all of reqs, which share one key.
func unsatisfiable(reqs []requirement) bool {
	mustExist, mustNotExist := false, false
	var allowed []string // values of one '=', '==' or 'in' requirement
	positive := false
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64) // integer bounds, inclusive
	numeric := false
	for i := range reqs {
		r := &reqs[i]
		switch r.op {
		case opExists:
			mustExist = true
		case opDoesNotExist:
			mustNotExist = true
		case opEquals, opDoubleEquals, opIn:
			mustExist = true
			positive, allowed = true, r.values
		case opGt:
			mustExist, numeric = true, true
			if r.num == math.MaxInt64 {
				return true
			}
			lo = max(lo, r.num+1)
		case opLt:
			// Values cannot start with '-', so num ≥ 0 and num-1 cannot wrap.
			mustExist, numeric = true, true
			hi = min(hi, r.num-1)
		}
	}
	if mustNotExist {
		return mustExist
	}
	if numeric && lo > hi {
		return true
	}
	if !positive {
		// Only exclusions besides a non-empty integer range: infinitely many
		// values (or spellings of one integer, "7" and "07") escape them.
		return false
	}
	// A matching label must take one of allowed's values; try each against
	// every requirement.
	for _, v := range allowed {
		if admits(reqs, v) {
			return false
		}
	}
	return true
}

// admits reports whether a present label with value v meets all of reqs.
func admits(reqs []requirement, v string) bool {
	for i := range reqs {
		if !reqs[i].eval(v, true) {
			return false
		}
	}
	return true
}
