package selector

import (
	"errors"
	"strconv"
)

// Sentinel errors. Errors returned by this package wrap exactly one of them, so
// callers can branch with [errors.Is]; the message around it names the
// offending key, value or position.
var (
	// ErrSyntax is returned by [Parse] when the input does not follow the
	// selector grammar (a missing operator, an unbalanced parenthesis, a
	// trailing comma, ...).
	ErrSyntax = errors.New("syntax error")

	// ErrInvalidKey is returned when a key is not a Kubernetes qualified name:
	// an optional lowercase DNS-1123 subdomain prefix of at most 253 characters
	// and a '/', then a name of 1-63 alphanumerics, '-', '_' or '.', starting
	// and ending with an alphanumeric.
	ErrInvalidKey = errors.New("invalid label key")

	// ErrInvalidValue is returned when a value is not a valid label value
	// (empty, or at most 63 characters of the name alphabet), or when '>' or
	// '<' is given something that is not a base-10 int64.
	ErrInvalidValue = errors.New("invalid label value")

	// ErrValueCount is returned when an operator gets the wrong number of
	// values: 'in'/'notin' need at least one, '=', '==', '!=', '>' and '<'
	// exactly one, exists and does-not-exist none.
	ErrValueCount = errors.New("wrong number of values for operator")

	// ErrInvalidOperator is returned by [FromLabelSelector] for an operator
	// other than In, NotIn, Exists and DoesNotExist (Gt and Lt included, as in
	// Kubernetes' structured selectors).
	ErrInvalidOperator = errors.New("invalid operator")

	// ErrNotExpressible is returned by [Selector.LabelSelector] when the
	// selector uses '>' or '<', which the structured form cannot hold.
	ErrNotExpressible = errors.New("selector not expressible as a LabelSelector")
)

// ParseError describes why [Parse] rejected its input. It wraps one of the
// sentinel errors above, so both errors.As (for the position) and errors.Is
// (for the kind) work. ParseErrors come from Parse; the zero value carries
// no information. A ParseError is not modified after it is returned and is
// safe for concurrent use.
type ParseError struct {
	Input  string // the complete input given to Parse
	Offset int    // byte offset in Input of the offending token
	Msg    string // what is wrong, quoting the offending text

	err error // the sentinel this error wraps
}

// Error quotes the input, the offset and the reason.
func (e *ParseError) Error() string {
	return "selector " + strconv.Quote(e.Input) + ": offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Unwrap returns the sentinel describing the kind of error.
func (e *ParseError) Unwrap() error { return e.err }
