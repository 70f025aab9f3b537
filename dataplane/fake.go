package dataplane

import (
	"context"
	"sync"
	"time"
)

// Fake is a Syncer that keeps the ruleset in memory instead of the kernel,
// for fast unit tests of code that drives a dataplane. It validates and
// renders exactly as the kernel implementation does, but never stands in for
// the kernel tests. The zero value is not usable; call NewFake. A Fake is
// safe for concurrent use.
type Fake struct {
	opts Options

	mu      sync.Mutex // protects the fields below
	st      *state     // as a Dataplane keeps it: nil forces a full Sync
	rs      *ruleset   // the last successful result; nil until then, and after Cleanup
	syncs   int
	full    bool
	closed  bool
	pending bool // a Resync was requested
}

var _ Syncer = (*Fake)(nil)

// NewFake returns an empty Fake that renders with opts.
func NewFake(opts Options) *Fake { return &Fake{opts: opts} }

// Sync validates svcs and keeps their ruleset, leaving out what a
// Dataplane would refuse before reaching the kernel. Its Stats count
// elements as a Dataplane would send them, but no messages, batches or
// bytes.
func (f *Fake) Sync(ctx context.Context, svcs []ServicePort) (Stats, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return Stats{}, ErrClosed
	}
	full := f.st == nil || f.pending
	st := f.st
	var refused []PortError
	var dl *delta
	if full {
		var err error
		if st, err = newState(&f.opts); err != nil {
			f.st, f.pending = nil, true
			return Stats{}, err
		}
		_, refused = st.update(svcs, false)
	} else {
		dl, refused = st.update(svcs, true)
	}
	stats := f.done(st, dl)
	stats.Duration = time.Since(start)
	return stats, refusedErr(refused)
}

// Update applies a partial change as Dataplane.Update does.
func (f *Fake) Update(ctx context.Context, upsert []ServicePort, remove []Key) (Stats, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return Stats{}, ErrClosed
	}
	if f.st == nil || f.pending {
		return Stats{}, ErrNeedSync
	}
	dl, refused, err := f.st.apply(upsert, remove)
	if err != nil {
		return Stats{}, err
	}
	stats := f.done(f.st, dl)
	stats.Duration = time.Since(start)
	return stats, refusedErr(refused)
}

// done keeps the outcome of a sync, dl nil for a full one, and counts its
// elements.
func (f *Fake) done(st *state, dl *delta) Stats {
	f.st, f.rs, f.full, f.pending = st, st.ruleset(), dl == nil, false
	f.syncs++
	stats := Stats{Full: dl == nil}
	if dl == nil {
		for _, s := range f.rs.sets {
			stats.ElementsAdded += len(s.elems)
		}
		return stats
	}
	for _, es := range dl.addElems {
		stats.ElementsAdded += len(es)
	}
	for name, es := range dl.delElems {
		if !dl.delSets[name] {
			stats.ElementsRemoved += len(es)
		}
	}
	return stats
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
	f.st, f.rs = nil, nil
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
