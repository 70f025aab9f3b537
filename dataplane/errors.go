package dataplane

import "errors"

var (
	// ErrInvalid is returned by Sync, Render and the Fake when a service
	// port or an option is malformed: an empty name, a zero port on a
	// service with addresses, an invalid address, endpoint or range.
	ErrInvalid = errors.New("invalid")
	// ErrConflict is returned when two service ports claim the same
	// address, protocol and port (or the same NodePort).
	ErrConflict = errors.New("frontend already in use")
	// ErrNotSupported is returned by New when the kernel lacks nf_tables
	// or a feature the ruleset needs.
	ErrNotSupported = errors.New("not supported by the kernel")
	// ErrClosed is returned by every method of a Dataplane after Close.
	ErrClosed = errors.New("dataplane closed")
)
