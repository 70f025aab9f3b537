package balancer

import "errors"

var (
	// ErrNoBackend is returned by Pick when the Picker has no backend it may
	// choose (none given, or all Unhealthy below the panic threshold), or when a
	// Holder holds no Picker.
	ErrNoBackend = errors.New("balancer: no usable backend")
	// ErrInvalidConfig is returned by constructors for an out-of-range
	// Config field (table size not prime, load factor below 1, ...).
	ErrInvalidConfig = errors.New("balancer: invalid config")
	// ErrDuplicateBackend is returned by constructors when two backends
	// share a Name, since names are the identity consistent hashing uses.
	ErrDuplicateBackend = errors.New("balancer: duplicate backend name")
)
