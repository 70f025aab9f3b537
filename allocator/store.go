package allocator

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// Store holds one snapshot shared between replicas.
type Store interface {
	// Load returns the latest snapshot and its revision; an empty store returns nil, 0.
	Load(ctx context.Context) (blob []byte, rev uint64, err error)
	// CompareAndSwap stores blob if the current revision is rev, returning the new
	// revision, or ErrConflict otherwise.
	CompareAndSwap(ctx context.Context, rev uint64, blob []byte) (uint64, error)
}

// MemStore is an in-memory Store. The zero value is an empty store ready to use; it is
// safe for concurrent use.
type MemStore struct {
	mu   sync.Mutex
	blob []byte
	rev  uint64
}

// Load implements Store.
func (s *MemStore) Load(context.Context) ([]byte, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blob, s.rev, nil
}

// CompareAndSwap implements Store.
func (s *MemStore) CompareAndSwap(_ context.Context, rev uint64, blob []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev != s.rev {
		return 0, ErrConflict
	}
	s.blob, s.rev = blob, s.rev+1
	return s.rev, nil
}

// SharedIPRange does every change as load → modify → compare-and-swap against a Store,
// retrying on conflict, so replicas sharing a store never hand out one address twice.
// Build it with NewSharedIPRange; safe for concurrent use.
type SharedIPRange struct {
	prefix netip.Prefix
	cfg    Config
	store  Store
}

// NewSharedIPRange returns a store-backed allocator over p.
func NewSharedIPRange(p netip.Prefix, store Store, cfg Config) (*SharedIPRange, error) {
	if _, err := NewIPRange(p, cfg); err != nil {
		return nil, err
	}
	return &SharedIPRange{prefix: p, cfg: cfg, store: store}, nil
}

func (s *SharedIPRange) update(ctx context.Context, fn func(*IPRange) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		blob, rev, err := s.store.Load(ctx)
		if err != nil {
			return fmt.Errorf("allocator: load: %w", err)
		}
		r, err := NewIPRange(s.prefix, s.cfg)
		if err != nil {
			return err
		}
		if blob != nil {
			if err := r.Restore(blob); err != nil {
				return err
			}
		}
		if err := fn(r); err != nil {
			return err
		}
		_, err = s.store.CompareAndSwap(ctx, rev, r.Snapshot())
		if errors.Is(err, ErrConflict) {
			continue
		}
		return err
	}
}

// AllocateNext reserves a free address in the shared state.
func (s *SharedIPRange) AllocateNext(ctx context.Context) (netip.Addr, error) {
	var a netip.Addr
	err := s.update(ctx, func(r *IPRange) (err error) {
		a, err = r.AllocateNext()
		return err
	})
	return a, err
}

// Allocate reserves a in the shared state.
func (s *SharedIPRange) Allocate(ctx context.Context, a netip.Addr) error {
	return s.update(ctx, func(r *IPRange) error { return r.Allocate(a) })
}

// Release frees a in the shared state.
func (s *SharedIPRange) Release(ctx context.Context, a netip.Addr) error {
	return s.update(ctx, func(r *IPRange) error { return r.Release(a) })
}
