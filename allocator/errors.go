package allocator

import "errors"

var (
	// ErrFull is returned by AllocateNext when no free value remains.
	ErrFull = errors.New("allocator: range is full")
	// ErrAllocated is returned by Allocate when the requested value is already taken.
	ErrAllocated = errors.New("allocator: value already allocated")
	// ErrNotInRange is returned when a requested or released value lies outside the range
	// or is one of the excluded addresses (IPv4 network/broadcast, IPv6 first address).
	ErrNotInRange = errors.New("allocator: value not in range")
	// ErrRangeTooLarge is returned by NewIPRange when the prefix has more than 64 host bits.
	ErrRangeTooLarge = errors.New("allocator: range too large")
	// ErrInvalidRange is returned by ParsePortRange for malformed input.
	ErrInvalidRange = errors.New("allocator: invalid range")
)

var (
	// ErrMismatchedRange is returned by Restore when the snapshot was taken from a
	// different range.
	ErrMismatchedRange = errors.New("allocator: snapshot range does not match")
	// ErrCorruptSnapshot is returned by Restore for a truncated blob, bad magic, bad
	// checksum or inconsistent content.
	ErrCorruptSnapshot = errors.New("allocator: corrupt snapshot")
	// ErrUnknownVersion is returned by Restore for a snapshot format version it does not know.
	ErrUnknownVersion = errors.New("allocator: unknown snapshot version")
)

// ErrConflict is returned by Store.CompareAndSwap when the stored revision is not the
// one the caller read; SharedIPRange retries on it.
var ErrConflict = errors.New("allocator: store revision conflict")
