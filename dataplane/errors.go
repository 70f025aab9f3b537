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
	// ErrNeedSync is returned by Update before the first successful Sync,
	// and after a failed Sync or Update, a Resync or a Cleanup: only a
	// whole Sync can say what the table holds then.
	ErrNeedSync = errors.New("a full Sync is needed first")
)
