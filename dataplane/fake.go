package dataplane

import (
	"context"
	"sync"
)

// Fake is a Syncer that keeps the ruleset in memory instead of the kernel,
// for fast unit tests of code that drives a dataplane. It validates and
// renders exactly as the kernel implementation does, but never stands in for
// the kernel tests. The zero value is not usable; call NewFake. A Fake is
// safe for concurrent use.
type Fake struct {
	opts Options

	mu      sync.Mutex // protects the fields below
	rs      *ruleset   // nil until a Sync succeeds, and after Cleanup
	syncs   int
	full    bool
	closed  bool
	pending bool // a Resync was requested
}

var _ Syncer = (*Fake)(nil)

// NewFake returns an empty Fake that renders with opts.
func NewFake(opts Options) *Fake { return &Fake{opts: opts} }

// Sync validates svcs and keeps their ruleset.
func (f *Fake) Sync(ctx context.Context, svcs []ServicePort) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rs, err := build(&f.opts, svcs)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	if err != nil {
		f.pending = true
		return err
	}
	f.full = f.rs == nil || f.pending
	f.rs, f.pending = rs, false
	f.syncs++
	return nil
}

// Resync makes the next Sync count as a full one.
func (f *Fake) Resync() {
	f.mu.Lock()
	f.pending = true
	f.mu.Unlock()
}

// Cleanup forgets the ruleset.
func (f *Fake) Cleanup(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.rs = nil
	return nil
}

// Close makes every later call fail with ErrClosed.
func (f *Fake) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

// Dump returns the ruleset of the last successful Sync in Render's syntax,
// or "" when there is none.
func (f *Fake) Dump() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rs == nil {
		return ""
	}
	return f.rs.String()
}

// LastSyncFull reports whether the last successful Sync would have replaced
// the whole table on a kernel (first sync, after an error or a Resync).
func (f *Fake) LastSyncFull() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.full
}
