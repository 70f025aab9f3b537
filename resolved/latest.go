package resolved

import (
	"context"
	"sync"
)

// Latest hands the newest published State from one writer to any number of
// readers in the same process: it is the in-memory delivery between a
// control plane and the node agents it runs beside. Readers that fall
// behind skip to the newest state, which is all a node agent needs. The
// zero value holds no state and is ready to use; it is safe for concurrent
// use.
type Latest struct {
	mu      sync.Mutex    // protects st and changed
	st      *State        // the newest state; nil before the first Publish
	changed chan struct{} // closed and replaced by every Publish
}

// Publish makes st the newest state. The caller must not modify st
// afterwards. A state whose Version is not above the newest one's is
// ignored, so a reader never goes back.
func (l *Latest) Publish(_ context.Context, st *State) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st != nil && st.Version <= l.st.Version {
		return nil
	}
	l.st = st
	if l.changed != nil {
		close(l.changed)
	}
	l.changed = make(chan struct{})
	return nil
}

// Next returns the newest state once its Version is above after, waiting
// for a Publish if there is none yet; it returns ctx's error when ctx ends
// first.
func (l *Latest) Next(ctx context.Context, after uint64) (*State, error) {
	for {
		l.mu.Lock()
		st := l.st
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		wait := l.changed
		l.mu.Unlock()
		if st != nil && st.Version > after {
			return st, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
