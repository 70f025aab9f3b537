package allocator

import "errors"

var (
	// ErrFull is returned by AllocateNext when no free value remains, and by Allocate and
	// AllocateNext when a sparse range already holds its limit of 2^26 allocations.
	ErrFull = errors.New("allocator: range is full")
	// ErrAllocated is returned by Allocate when the requested value is already taken.
	ErrAllocated = errors.New("allocator: value already allocated")
	// ErrNotInRange is returned when a requested or released value lies outside the range
	// or is one of the excluded addresses (IPv4 network/broadcast, IPv6 first address).
	ErrNotInRange = errors.New("allocator: value not in range")
	// ErrRangeTooLarge is returned by NewIPRange when the prefix has more than 64 host
	// bits, by NewIPRangeFromTo for more than 2^64−1 addresses, and by NewLBAllocator
	// for a pool range of more than 2^64 addresses.
	ErrRangeTooLarge = errors.New("allocator: range too large")
	// ErrInvalidRange is returned by ParsePortRange and ParseAddrRange for malformed
	// input, and by NewIPRangeFromTo and NewLBAllocator for an invalid range.
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

// LoadBalancer pool errors, returned by NewLBAllocator and LBAllocator.Assign.
var (
	// ErrInvalidPool is returned by NewLBAllocator for a pool with an empty or duplicate
	// name, no addresses, or ranges overlapping another range.
	ErrInvalidPool = errors.New("allocator: invalid pool")
	// ErrUnknownPool is returned by Assign when the request names a pool that does not exist.
	ErrUnknownPool = errors.New("allocator: unknown pool")
	// ErrNotInPool is returned by Assign when the requested address is in no pool, not in
	// the requested pool, or not of the requested family. A pool that avoids buggy IPs
	// does not hold addresses ending in .0 or .255.
	ErrNotInPool = errors.New("allocator: address not in any pool")
	// ErrInUse is returned by Assign when the address is held by a service it may not be
	// shared with: either service has no sharing key, the keys differ, or the backend
	// keys differ.
	ErrInUse = errors.New("allocator: address in use by a service that does not share it")
	// ErrPortConflict is returned by Assign when the services could share the address but
	// another one already uses one of the request's protocol and port pairs on it.
	ErrPortConflict = errors.New("allocator: port already used on shared address")
	// ErrPoolFull is returned by Assign when no eligible pool has a free address of the
	// requested family (including when no eligible pool serves that family).
	ErrPoolFull = errors.New("allocator: no free address in pool")
)

// Services errors, returned by Services.Allocate (wrapped with the service's key and
// the field of the request they concern).
var (
	// ErrInvalidService is returned for a request Kubernetes' validation would refuse:
	// two ports with one name or one port and protocol, a port number 0, two addresses
	// of one family, two families with SingleStack.
	ErrInvalidService = errors.New("allocator: invalid service")
	// ErrFamilyNotConfigured is returned when a request needs an IP family the cluster
	// has no ClusterIP range for (RequireDualStack on a single-stack cluster included).
	ErrFamilyNotConfigured = errors.New("allocator: ip family not configured")
	// ErrImmutable is returned when a request changes a value Kubernetes keeps for the
	// life of a service: a held ClusterIP, the primary IP family, headlessness, or a
	// held health-check node port.
	ErrImmutable = errors.New("allocator: field is immutable")
)
