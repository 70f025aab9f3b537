package selector

import (
	"maps"
	"slices"
	"strings"
)

// Labels is the label set a [Selector] is matched against, as Kubernetes'
// labels.Labels. Get returns "" for an absent key; Has tells an absent key
// from one set to "". Implementations must answer consistently.
type Labels interface {
	Has(key string) bool
	Get(key string) string
}

// Set is a label set held in a map. It implements [Labels]. The zero value (a
// nil Set) is an empty label set, ready to use for reading. A Set is as safe
// for concurrent use as the map it is.
type Set map[string]string

// Has reports whether key is present.
func (s Set) Has(key string) bool {
	_, ok := s[key]
	return ok
}

// Get returns the value of key, or "" if it is absent.
func (s Set) Get(key string) string { return s[key] }

// String returns the set as "k1=v1,k2=v2" sorted by key.
func (s Set) String() string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(s)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(s[k])
	}
	return b.String()
}

// op is a requirement's operator.
type op uint8

const (
	opExists op = iota + 1
	opDoesNotExist
	opEquals
	opDoubleEquals
	opNotEquals
	opIn
	opNotIn
	opGt
	opLt
)

// requirement is one comma-separated term of a selector.
type requirement struct {
	key    string
	values []string // sorted; one value for = == != > <, none for exists
	num    int64    // values[0] as an integer, for > and <
	op     op
}

// kind distinguishes the three selectors that have no requirements.
type kind uint8

const (
	kindNone    kind = iota // the zero Selector: no selector at all
	kindReqs                // the conjunction of reqs; Everything when reqs is empty
	kindNothing             // Nothing()
)

// Selector is an immutable Kubernetes label selector: a conjunction of
// requirements on label keys and values.
//
// The zero Selector is "no selector" (a Service whose selector is empty): it
// matches nothing, IsZero reports true, and it is distinct from [Everything].
// A Selector is a value; it is safe for concurrent use.
type Selector struct {
	reqs []requirement
	kind kind
}

// Everything returns the selector that matches every label set, as Parse("")
// does.
func Everything() Selector { return Selector{kind: kindReqs} }

// Nothing returns the selector that matches no label set, as a nil structured
// LabelSelector does in Kubernetes. Unlike the zero Selector, it is not
// "no selector": IsZero reports false.
func Nothing() Selector { return Selector{kind: kindNothing} }

// IsZero reports whether s is the zero Selector ("no selector").
func (s Selector) IsZero() bool { return s.kind == kindNone }

// FromMap returns the selector of a Kubernetes Service: one equality
// requirement per entry. A nil or empty map is a Service without a selector
// and gives the zero Selector, which matches nothing. Keys and values are not
// validated, as Kubernetes' SelectorFromSet does not.
func FromMap(m map[string]string) Selector {
	if len(m) == 0 {
		return Selector{}
	}
	return fromEntries(m)
}

// FromSet returns the selector that matches exactly the given set, with the
// semantics of Kubernetes' labels.SelectorFromSet: a nil or empty set gives
// [Everything], and keys and values are not validated.
func FromSet(s Set) Selector {
	if len(s) == 0 {
		return Everything()
	}
	return fromEntries(s)
}

func fromEntries(m map[string]string) Selector {
	reqs := make([]requirement, 0, len(m))
	vals := make([]string, 0, len(m))
	for k, v := range m {
		vals = append(vals, v)
		reqs = append(reqs, requirement{key: k, op: opEquals, values: vals[len(vals)-1 : len(vals) : len(vals)]})
	}
	sortByKey(reqs)
	return Selector{reqs: reqs, kind: kindReqs}
}

// Matches reports whether the label set l satisfies every requirement of s,
// with Kubernetes' semantics: '!=' and 'notin' hold when the key is absent; '>'
// and '<' fail when it is absent or its value is not a base-10 int64. It does
// not allocate.
func (s Selector) Matches(l Labels) bool {
	if s.kind != kindReqs {
		return false
	}
	// One map lookup per requirement instead of Has+Get through the interface.
	if m, ok := l.(Set); ok {
		for i := range s.reqs {
			r := &s.reqs[i]
			v, present := m[r.key]
			// The common operators inline; eval is too large to be inlined.
			switch r.op {
			case opEquals, opDoubleEquals:
				if !present || v != r.values[0] {
					return false
				}
			case opNotEquals:
				if present && v == r.values[0] {
					return false
				}
			case opExists:
				if !present {
					return false
				}
			case opDoesNotExist:
				if present {
					return false
				}
			default:
				if !r.eval(v, present) {
					return false
				}
			}
		}
		return true
	}
	for i := range s.reqs {
		r := &s.reqs[i]
		var v string
		var present bool
		switch r.op {
		case opExists, opDoesNotExist:
			present = l.Has(r.key)
		default:
			v = l.Get(r.key)
			present = v != "" || l.Has(r.key)
		}
		if !r.eval(v, present) {
			return false
		}
	}
	return true
}

// eval reports whether a label with value v (present tells whether it is set
// at all) satisfies r.
func (r *requirement) eval(v string, present bool) bool {
	switch r.op {
	case opExists:
		return present
	case opDoesNotExist:
		return !present
	case opEquals, opDoubleEquals, opIn:
		return present && r.has(v)
	case opNotEquals, opNotIn:
		return !present || !r.has(v)
	case opGt, opLt:
		if !present {
			return false
		}
		n, ok := parseInt64(v)
		if !ok {
			return false
		}
		if r.op == opGt {
			return n > r.num
		}
		return n < r.num
	}
	return false
}

// has reports whether v is one of r's (sorted) values.
func (r *requirement) has(v string) bool {
	if len(r.values) <= 8 {
		for _, x := range r.values {
			if x == v {
				return true
			}
		}
		return false
	}
	_, ok := slices.BinarySearch(r.values, v)
	return ok
}

// String returns the canonical form of s: requirements sorted by key, values
// sorted, in Kubernetes' spelling ("a in (x,y)", "!a", "a!=b", "a>1"). It
// parses back to an equal selector. Everything, Nothing and the zero Selector
// all print as "" (as in Kubernetes, where Nothing also prints ""); only
// Everything's string parses back to itself.
func (s Selector) String() string {
	return string(s.AppendTo(nil))
}

// AppendTo appends the canonical form of s (see [Selector.String]) to b.
func (s Selector) AppendTo(b []byte) []byte {
	for i := range s.reqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.reqs[i].appendTo(b)
	}
	return b
}

func (r *requirement) appendTo(b []byte) []byte {
	if r.op == opDoesNotExist {
		b = append(b, '!')
	}
	b = append(b, r.key...)
	switch r.op {
	case opExists, opDoesNotExist:
		return b
	case opIn, opNotIn:
		if r.op == opIn {
			b = append(b, " in ("...)
		} else {
			b = append(b, " notin ("...)
		}
		for i, v := range r.values {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, v...)
		}
		return append(b, ')')
	}
	b = append(b, r.op.symbol()...)
	return append(b, r.values[0]...)
}

// symbol is the operator as written in a selector string.
func (o op) symbol() string {
	switch o {
	case opEquals:
		return "="
	case opDoubleEquals:
		return "=="
	case opNotEquals:
		return "!="
	case opIn:
		return "in"
	case opNotIn:
		return "notin"
	case opGt:
		return ">"
	case opLt:
		return "<"
	case opDoesNotExist:
		return "!"
	}
	return "exists"
}

// Equal reports whether s and t are the same selector: the same kind and the
// same requirements in the same order (which Parse makes canonical).
func (s Selector) Equal(t Selector) bool {
	return s.kind == t.kind && slices.EqualFunc(s.reqs, t.reqs, func(a, b requirement) bool {
		return a.key == b.key && a.op == b.op && slices.Equal(a.values, b.values)
	})
}

// RequiresExactMatch reports the single value s requires for key, as
// Kubernetes does: it looks at the first requirement on key only, and answers
// ok when that is '=', '==' or 'in' with one value.
func (s Selector) RequiresExactMatch(key string) (value string, ok bool) {
	for i := range s.reqs {
		r := &s.reqs[i]
		if r.key != key {
			continue
		}
		if (r.op == opEquals || r.op == opDoubleEquals || r.op == opIn) && len(r.values) == 1 {
			return r.values[0], true
		}
		return "", false
	}
	return "", false
}
