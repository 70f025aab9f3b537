package manifests

import (
	"context"
	"sync"
)

// Latest holds the most recent result of a Watch for readers that pull,
// such as a control plane's source that asks for "the input after
// generation N": pass its Store to Watch and call Next from the reader.
// Generations count Stores from 1. The zero value is empty and ready to
// use. Latest is safe for concurrent use.
type Latest struct {
	mu      sync.Mutex // protects everything below
	set     Set
	errs    []error
	gen     uint64
	changed chan struct{} // closed and replaced on every Store
}

// Store records a new result; it has Watch's callback signature.
func (x *Latest) Store(set Set, errs []error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.set, x.errs = set, errs
	x.gen++
	if x.changed != nil {
		close(x.changed)
		x.changed = nil
	}
}

// Next returns the result once its generation is above after (zero asks
// for the first), with that generation, waiting for a Store if needed; it
// returns ctx's error when ctx ends first. Results skipped while the
// reader was busy are not queued: Next always gives the latest.
func (x *Latest) Next(ctx context.Context, after uint64) (Set, []error, uint64, error) {
	for {
		x.mu.Lock()
		if x.gen > after {
			set, errs, gen := x.set, x.errs, x.gen
			x.mu.Unlock()
			return set, errs, gen, nil
		}
		if x.changed == nil {
			x.changed = make(chan struct{})
		}
		ch := x.changed
		x.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Set{}, nil, after, ctx.Err()
		}
	}
}
