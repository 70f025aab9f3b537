package etcd

import "errors"

var (
	// ErrUnavailable is returned, joined with etcd's own error, when a call could not
	// reach a quorum: the client's endpoints are down or cut off, the cluster has no
	// leader, or the client is closed, and the call's retries (see Retry) ran out. A
	// write that fails with it was either applied whole or not at all; an allocation
	// applied that way without the caller learning of it is a leak that a repair pass
	// frees, never a duplicate.
	ErrUnavailable = errors.New("etcd: cluster unavailable")
	// ErrUnknownVersion is returned when a stored value was written in an encoding
	// version this code does not know, by a newer writer: the reader stops rather than
	// misread it.
	ErrUnknownVersion = errors.New("etcd: unknown encoding version")
	// ErrCorrupt is returned when a stored value cannot be decoded.
	ErrCorrupt = errors.New("etcd: corrupt value")
	// ErrClosed is returned by calls on a Store, allocator or watch after Close.
	ErrClosed = errors.New("etcd: closed")
)
