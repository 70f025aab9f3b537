package selector

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// LabelSelector is the structured form of a selector, as Kubernetes'
// metav1.LabelSelector: the requirements of MatchLabels and MatchExpressions
// are ANDed. A nil *LabelSelector selects nothing; a non-nil empty one selects
// everything. The zero value is the empty LabelSelector. It is a plain value;
// it is not safe for concurrent modification.
type LabelSelector struct {
	MatchLabels      map[string]string
	MatchExpressions []LabelSelectorRequirement
}

// LabelSelectorRequirement is one expression of a [LabelSelector]. The zero
// value has no operator and is rejected by [FromLabelSelector]. It is a plain
// value; it is not safe for concurrent modification.
type LabelSelectorRequirement struct {
	Key      string
	Operator LabelSelectorOperator
	Values   []string // In and NotIn: at least one; Exists and DoesNotExist: none
}

// LabelSelectorOperator is the operator of a [LabelSelectorRequirement]. The
// zero value "" is not a valid operator.
type LabelSelectorOperator string

// The operators of the structured form. Unlike the string syntax, it has no
// Gt or Lt.
const (
	In           LabelSelectorOperator = "In"
	NotIn        LabelSelectorOperator = "NotIn"
	Exists       LabelSelectorOperator = "Exists"
	DoesNotExist LabelSelectorOperator = "DoesNotExist"
)

// FromLabelSelector converts the structured form to a Selector with the
// semantics of Kubernetes' LabelSelectorAsSelector: nil gives [Nothing], an
// empty LabelSelector gives [Everything], MatchLabels entries become '='
// requirements, and keys, values and value counts are validated. Errors wrap
// [ErrInvalidKey], [ErrInvalidValue], [ErrValueCount] or [ErrInvalidOperator].
func FromLabelSelector(ls *LabelSelector) (Selector, error) {
	if ls == nil {
		return Nothing(), nil
	}
	if len(ls.MatchLabels)+len(ls.MatchExpressions) == 0 {
		return Everything(), nil
	}
	reqs := make([]requirement, 0, len(ls.MatchLabels)+len(ls.MatchExpressions))
	for _, k := range slices.Sorted(maps.Keys(ls.MatchLabels)) {
		vals := []string{ls.MatchLabels[k]}
		if err := checkRequirement(k, vals); err != nil {
			return Selector{}, fmt.Errorf("matchLabels: %w", err)
		}
		reqs = append(reqs, requirement{key: k, op: opEquals, values: vals})
	}
	for i, e := range ls.MatchExpressions {
		var o op
		switch e.Operator {
		case In:
			o = opIn
		case NotIn:
			o = opNotIn
		case Exists:
			o = opExists
		case DoesNotExist:
			o = opDoesNotExist
		default:
			return Selector{}, fmt.Errorf("matchExpressions[%d]: operator %q: %w", i, string(e.Operator), ErrInvalidOperator)
		}
		if err := checkCount(e.Key, o, len(e.Values)); err != nil {
			return Selector{}, fmt.Errorf("matchExpressions[%d]: %w", i, err)
		}
		if err := checkRequirement(e.Key, e.Values); err != nil {
			return Selector{}, fmt.Errorf("matchExpressions[%d]: %w", i, err)
		}
		// Sorted but, as in Kubernetes, not deduplicated.
		var vals []string
		if len(e.Values) > 0 {
			vals = slices.Sorted(slices.Values(e.Values))
		}
		reqs = append(reqs, requirement{key: e.Key, op: o, values: vals})
	}
	sortByKey(reqs)
	return Selector{reqs: reqs, kind: kindReqs}, nil
}

// checkRequirement validates a key and its values.
func checkRequirement(key string, vals []string) error {
	if msg := checkKey(key); msg != "" {
		return fmt.Errorf("%s: %w", msg, ErrInvalidKey)
	}
	for _, v := range vals {
		if msg := checkValue(key, v); msg != "" {
			return fmt.Errorf("%s: %w", msg, ErrInvalidValue)
		}
	}
	return nil
}

// checkCount validates the number of values an operator of the structured
// form gets.
func checkCount(key string, o op, n int) error {
	switch {
	case (o == opIn || o == opNotIn) && n == 0:
		return fmt.Errorf("key %q: operator %s needs at least one value: %w", key, o.structured(), ErrValueCount)
	case (o == opExists || o == opDoesNotExist) && n != 0:
		return fmt.Errorf("key %q: operator %s takes no values, got %d: %w", key, o.structured(), n, ErrValueCount)
	}
	return nil
}

// structured is the operator's name in the structured form.
func (o op) structured() LabelSelectorOperator {
	switch o {
	case opIn, opEquals, opDoubleEquals:
		return In
	case opNotIn, opNotEquals:
		return NotIn
	case opExists:
		return Exists
	case opDoesNotExist:
		return DoesNotExist
	}
	return LabelSelectorOperator(o.symbol())
}

// LabelSelector converts s to the structured form, where it is expressible:
// '=' and '==' become MatchLabels (or an In expression when a key has
// several), '!=' becomes NotIn with one value, and the other operators map to
// their namesakes. The zero Selector and [Nothing] give nil; [Everything]
// gives an empty LabelSelector. A selector using '>' or '<' gives an error
// wrapping [ErrNotExpressible].
func (s Selector) LabelSelector() (*LabelSelector, error) {
	if s.kind != kindReqs {
		return nil, nil
	}
	ls := &LabelSelector{}
	for i := range s.reqs {
		r := &s.reqs[i]
		switch r.op {
		case opGt, opLt:
			return nil, fmt.Errorf("requirement %s: operator %s: %w", strconv.Quote(string(r.appendTo(nil))), strconv.Quote(r.op.symbol()), ErrNotExpressible)
		case opEquals, opDoubleEquals:
			if _, dup := ls.MatchLabels[r.key]; !dup {
				if ls.MatchLabels == nil {
					ls.MatchLabels = make(map[string]string)
				}
				ls.MatchLabels[r.key] = r.values[0]
				continue
			}
		}
		var vals []string
		if len(r.values) > 0 {
			vals = slices.Clone(r.values)
		}
		ls.MatchExpressions = append(ls.MatchExpressions, LabelSelectorRequirement{Key: r.key, Operator: r.op.structured(), Values: vals})
	}
	return ls, nil
}
