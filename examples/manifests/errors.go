package manifests

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Every *Error wraps exactly one of them, so callers branch
// with errors.Is.
var (
	// ErrDirectory is returned when Config.Dir cannot be listed. The Set of
	// that Load is empty; a caller that keeps serving its last good state
	// across such an outage checks for it.
	ErrDirectory = errors.New("manifest directory unreadable")
	// ErrNotRegular is returned for a manifest name that is not a regular
	// file (or a symlink to one): a FIFO, a device, a socket, a directory,
	// a dangling symlink or a symlink loop.
	ErrNotRegular = errors.New("not a regular file")
	// ErrUnreadable is returned when a regular file cannot be opened or read.
	ErrUnreadable = errors.New("unreadable file")
	// ErrTooLarge is returned for a file larger than Config.MaxFileBytes, or
	// one that would take the directory past Config.MaxTotalBytes.
	ErrTooLarge = errors.New("manifest too large")
	// ErrInvalid is returned for a document that is not valid YAML or not a
	// valid object of a supported kind.
	ErrInvalid = errors.New("invalid manifest")
	// ErrExternalIPNotAllowed is returned for an externalIP outside
	// Config.ExternalIPCIDRs (CVE-2020-8554).
	ErrExternalIPNotAllowed = errors.New("external IP not allowed")
	// ErrDuplicate is returned for a second object of one kind, namespace
	// and name; the established one keeps its place.
	ErrDuplicate = errors.New("duplicate object")
	// ErrConflict is returned for a Service that claims an address or
	// address:port:protocol another Service already holds.
	ErrConflict = errors.New("address conflict")
)

// Error reports one refused file, document or object: where and why. The
// zero value reports nothing useful; errors come from [Loader.Load]. An
// Error is not modified after Load returns it and is safe for concurrent
// reads.
type Error struct {
	File  string // name inside Config.Dir; for ErrDirectory, the directory
	Doc   int    // 0-based document index; -1 when the whole file is refused
	Field string // a JSON path such as "spec.ports[0].port"; empty for the whole document
	Err   error  // the reason; wraps one of the sentinels above
}

func (e *Error) Error() string {
	s := e.File
	if e.Doc >= 0 {
		s += ": document " + strconv.Itoa(e.Doc)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the reason.
func (e *Error) Unwrap() error { return e.Err }

// reason is an error message that wraps a sentinel without repeating its
// text, so that *Error reads "f.yaml: document 0: spec.clusterIP: ...".
type reason struct {
	msg string
	is  error
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.is }

func reasonf(is error, format string, args ...any) error {
	return &reason{msg: fmt.Sprintf(format, args...), is: is}
}

// fieldError is a validation failure inside one object, before the file
// and document are known.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }

// invalid builds a fieldError wrapping ErrInvalid.
func invalid(field, format string, args ...any) *fieldError {
	return &fieldError{field: field, err: reasonf(ErrInvalid, format, args...)}
}
