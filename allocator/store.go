package allocator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
)

// Store holds one snapshot shared between replicas; SharedIPRange and SharedPortRange
// run every change as Load → modify → CompareAndSwap on it. This is the seam for
// shared stores (the etcd module implements it); an implementation must keep this
// contract:
//
//   - Revisions: 0 means "never written". Every successful CompareAndSwap gives the
//     stored blob a new revision, greater than every revision before it; a revision
//     names one blob forever.
//   - Load returns a blob and the revision it was stored under; an empty store returns
//     nil, 0. It may answer from a cache, so the pair may be stale (an older revision
//     that was current once), but never a blob with a revision it was not stored
//     under. The returned slice must not be changed afterwards by the store; callers
//     do not change it either.
//   - CompareAndSwap(ctx, rev, blob) writes blob if and only if the stored revision is
//     rev (rev 0: only if nothing was ever stored) and returns the new revision. If the
//     stored revision is another one it writes nothing and returns an error for which
//     errors.Is(err, ErrConflict) holds; callers then Load again and retry. Any other
//     error means the outcome is unknown (a timeout may have been applied); callers
//     return it. The store may keep blob; the caller does not change it afterwards.
//
// Because Load may be stale, the shared allocators treat only a successful
// CompareAndSwap as the truth: a change is committed by it, and a refusal that depends
// on the state (ErrAllocated, ErrFull) is confirmed by writing the unchanged blob back
// at the loaded revision, so a refusal decided on a stale copy is retried instead.
type Store interface {
	// Load returns a snapshot and the revision it was stored under, possibly stale;
	// an empty store returns nil, 0.
	Load(ctx context.Context) (blob []byte, rev uint64, err error)
	// CompareAndSwap stores blob if the current revision is rev and returns the new
	// revision; otherwise it stores nothing and returns an error wrapping ErrConflict.
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

// snapshotter is what the shared mode needs of an allocator.
type snapshotter interface {
	Snapshot() []byte
	Restore(blob []byte) error
}

// valueRange is an allocator of values of type T that can be snapshotted:
// IPRange and PortRange.
type valueRange[T any] interface {
	snapshotter
	AllocateNext() (T, error)
	Allocate(v T) error
	Release(v T) error
}

// shared runs read–modify–CAS loops over a Store for any allocator type R, built
// fresh from the stored snapshot for every change. SharedIPRange and SharedPortRange
// are its two forms.
type shared[T any, R valueRange[T]] struct {
	store Store
	build func() (R, error) // a new, empty allocator
}

// newShared checks cfg by building one allocator with mk, then keeps mk for every
// change, with the caller's random source serialised.
func newShared[T any, R valueRange[T]](store Store, cfg Config, mk func(Config) (R, error)) (shared[T, R], error) {
	if _, err := mk(cfg); err != nil {
		return shared[T, R]{}, err
	}
	cfg = lockRand(cfg)
	return shared[T, R]{store, func() (R, error) { return mk(cfg) }}, nil
}

func (s *shared[T, R]) allocateNext(ctx context.Context) (T, error) {
	var v T
	err := s.update(ctx, func(r R) (err error) {
		v, err = r.AllocateNext()
		return err
	})
	return v, err
}

func (s *shared[T, R]) allocate(ctx context.Context, v T) error {
	return s.update(ctx, func(r R) error { return r.Allocate(v) })
}

func (s *shared[T, R]) release(ctx context.Context, v T) error {
	return s.update(ctx, func(r R) error { return r.Release(v) })
}

func (s *shared[T, R]) update(ctx context.Context, fn func(R) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		blob, rev, err := s.store.Load(ctx)
		if err != nil {
			return fmt.Errorf("allocator: load: %w", err)
		}
		r, err := s.build()
		if err != nil {
			return err
		}
		if blob != nil {
			if err := r.Restore(blob); err != nil {
				return err
			}
		}
		ferr := fn(r)
		out := r.Snapshot()
		switch {
		case ferr == nil:
		case errors.Is(ferr, ErrAllocated) || errors.Is(ferr, ErrFull):
			// The refusal holds only if the loaded state is current: confirm it by
			// writing the unchanged state back at rev (Load may answer from a stale
			// cache); a conflict means it was stale, and the loop tries again.
		default:
			return ferr
		}
		_, err = s.store.CompareAndSwap(ctx, rev, out)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		return ferr
	}
}

// lockedSource serialises a caller's rand.Source: every change of a shared allocator
// builds a new allocator from the same Config, possibly on many goroutines at once.
type lockedSource struct {
	mu  sync.Mutex // protects src
	src rand.Source
}

func (l *lockedSource) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.src.Uint64()
}

func lockRand(cfg Config) Config {
	if cfg.Rand != nil {
		cfg.Rand = &lockedSource{src: cfg.Rand}
	}
	return cfg
}

// SharedIPRange does every change as load → modify → compare-and-swap against a Store,
// retrying on conflict, so replicas sharing a store never hand out one address twice.
// Build it with NewSharedIPRange; the zero value is not usable. Safe for concurrent use.
type SharedIPRange struct {
	s shared[netip.Addr, *IPRange]
}

// NewSharedIPRange returns a store-backed allocator over p.
func NewSharedIPRange(p netip.Prefix, store Store, cfg Config) (*SharedIPRange, error) {
	s, err := newShared[netip.Addr](store, cfg, func(cfg Config) (*IPRange, error) { return NewIPRange(p, cfg) })
	if err != nil {
		return nil, err
	}
	return &SharedIPRange{s}, nil
}

// AllocateNext reserves a free address in the shared state.
func (s *SharedIPRange) AllocateNext(ctx context.Context) (netip.Addr, error) {
	return s.s.allocateNext(ctx)
}

// Allocate reserves a in the shared state.
func (s *SharedIPRange) Allocate(ctx context.Context, a netip.Addr) error {
	return s.s.allocate(ctx, a)
}

// Release frees a in the shared state.
func (s *SharedIPRange) Release(ctx context.Context, a netip.Addr) error { return s.s.release(ctx, a) }

// SharedPortRange is the store-backed form of PortRange: every change is load →
// modify → compare-and-swap with retry, so replicas sharing a store never hand out one
// port twice. Build it with NewSharedPortRange; the zero value is not usable. Safe for
// concurrent use.
type SharedPortRange struct {
	s shared[uint16, *PortRange]
}

// NewSharedPortRange returns a store-backed allocator over the port range spec (see
// ParsePortRange).
func NewSharedPortRange(spec string, store Store, cfg Config) (*SharedPortRange, error) {
	s, err := newShared[uint16](store, cfg, func(cfg Config) (*PortRange, error) { return NewPortRange(spec, cfg) })
	if err != nil {
		return nil, err
	}
	return &SharedPortRange{s}, nil
}

// AllocateNext reserves a free port in the shared state.
func (s *SharedPortRange) AllocateNext(ctx context.Context) (uint16, error) {
	return s.s.allocateNext(ctx)
}

// Allocate reserves port p in the shared state.
func (s *SharedPortRange) Allocate(ctx context.Context, p uint16) error { return s.s.allocate(ctx, p) }

// Release frees port p in the shared state.
func (s *SharedPortRange) Release(ctx context.Context, p uint16) error { return s.s.release(ctx, p) }
