package dataplane

import (
	"errors"
	"fmt"
	"strings"
)

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

// SyncError is returned by Sync, Update, Render and Validate when some
// service ports were refused: each was left out (a previous version of it
// removed), and every other service port was programmed. Use errors.As to
// get at it; errors.Is finds the sentinel (ErrInvalid, ErrConflict) of
// each refusal through it.
type SyncError struct {
	// Refused lists the left-out service ports in input order.
	Refused []PortError
}

// PortError is why one service port was refused.
type PortError struct {
	Key Key
	Err error
}

func (e *PortError) Error() string { return e.Err.Error() }

func (e *PortError) Unwrap() error { return e.Err }

func (e *SyncError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d service port(s) left out: ", len(e.Refused))
	for i, r := range e.Refused {
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(r.Err.Error())
	}
	return sb.String()
}

// Unwrap returns every refusal, so that errors.Is sees their sentinels.
func (e *SyncError) Unwrap() []error {
	errs := make([]error, len(e.Refused))
	for i := range e.Refused {
		errs[i] = &e.Refused[i]
	}
	return errs
}

// refusedErr returns a *SyncError for refused, or nil when it is empty.
func refusedErr(refused []PortError) error {
	if len(refused) == 0 {
		return nil
	}
	return &SyncError{Refused: refused}
}
