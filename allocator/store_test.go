package allocator

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
)

func TestSharedNoDuplicates(t *testing.T) {
	var st MemStore
	p := netip.MustParsePrefix("10.0.0.0/25")
	var mu sync.Mutex
	seen := map[netip.Addr]bool{}
	var wg sync.WaitGroup
	for range 3 {
		s, err := NewSharedIPRange(p, &st, Config{})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					a, err := s.AllocateNext(context.Background())
					if errors.Is(err, ErrFull) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[a] {
						t.Errorf("%v handed out twice", a)
					}
					seen[a] = true
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(seen) != 126 {
		t.Fatalf("allocated %d; want 126", len(seen))
	}
	blob, _, _ := st.Load(context.Background())
	r, _ := NewIPRange(p, Config{})
	if err := r.Restore(blob); err != nil || r.Used() != 126 {
		t.Fatalf("stored state: err %v, Used %d; want nil, 126", err, r.Used())
	}
}

// TestSharedPortNoDuplicates runs three replicas, two goroutines each, on one store:
// they fill the range, give half back and refill it. A port is never held by two
// goroutines at once, and the stored state ends full.
func TestSharedPortNoDuplicates(t *testing.T) {
	var st MemStore
	ctx := context.Background()
	var mu sync.Mutex
	owner := map[uint16]int{} // port → goroutine holding it
	fill := func(s *SharedPortRange, id int, mine *[]uint16) {
		for {
			p, err := s.AllocateNext(ctx)
			if errors.Is(err, ErrFull) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if o, dup := owner[p]; dup {
				t.Errorf("port %d handed to %d while %d holds it", p, id, o)
			}
			owner[p] = id
			mu.Unlock()
			*mine = append(*mine, p)
		}
	}
	var wg sync.WaitGroup
	for r := range 3 {
		// A shared seeded source: the replica serialises it across its goroutines.
		s, err := NewSharedPortRange("30000-30099", &st, Config{Rand: rand.NewPCG(uint64(r), 7)})
		if err != nil {
			t.Fatal(err)
		}
		for g := range 2 {
			id := r*2 + g
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []uint16
				fill(s, id, &mine)
				for _, p := range mine[:len(mine)/2] {
					mu.Lock()
					delete(owner, p)
					mu.Unlock()
					if err := s.Release(ctx, p); err != nil {
						t.Error(err)
					}
				}
				fill(s, id, &mine)
			}()
		}
	}
	wg.Wait()
	if len(owner) != 100 {
		t.Fatalf("held %d ports; want 100", len(owner))
	}
	blob, _, _ := st.Load(ctx)
	r, _ := NewPortRange("30000-30099", Config{})
	if err := r.Restore(blob); err != nil || r.Used() != 100 {
		t.Fatalf("stored state: err %v, Used %d; want nil, 100", err, r.Used())
	}
	for p := range owner {
		if !r.Has(p) {
			t.Errorf("stored state lacks held port %d", p)
		}
	}
}

func TestSharedErrors(t *testing.T) {
	var st MemStore
	ctx := context.Background()
	s, err := NewSharedPortRange("30000-30001", &st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Allocate(ctx, 30000); err != nil {
		t.Fatalf("Allocate(30000) = %v", err)
	}
	if err := s.Allocate(ctx, 30000); !errors.Is(err, ErrAllocated) {
		t.Errorf("second Allocate(30000) = %v; want ErrAllocated", err)
	}
	if err := s.Allocate(ctx, 29999); !errors.Is(err, ErrNotInRange) {
		t.Errorf("Allocate(29999) = %v; want ErrNotInRange", err)
	}
	if _, err := NewSharedPortRange("9-1", &st, Config{}); !errors.Is(err, ErrInvalidRange) {
		t.Errorf("NewSharedPortRange(9-1) = %v; want ErrInvalidRange", err)
	}
	// A store holding another range's state is refused, not overwritten.
	ip, _ := NewSharedIPRange(netip.MustParsePrefix("10.0.0.0/29"), &st, Config{})
	if _, err := ip.AllocateNext(ctx); !errors.Is(err, ErrMismatchedRange) {
		t.Errorf("SharedIPRange on a port store = %v; want ErrMismatchedRange", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.AllocateNext(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("AllocateNext(cancelled) = %v; want context.Canceled", err)
	}
}

// TestSharedExplicit: an address one replica takes explicitly is taken for
// every replica on the store until one of them releases it.
func TestSharedExplicit(t *testing.T) {
	ctx := context.Background()
	var st MemStore
	p := netip.MustParsePrefix("10.0.0.0/24")
	a, err := NewSharedIPRange(p, &st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSharedIPRange(p, &st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("10.0.0.42")
	if err := a.Allocate(ctx, ip); err != nil {
		t.Fatalf("a.Allocate(%v) = %v", ip, err)
	}
	if err := b.Allocate(ctx, ip); !errors.Is(err, ErrAllocated) {
		t.Errorf("b.Allocate(%v) after a took it = %v; want ErrAllocated", ip, err)
	}
	if err := b.Release(ctx, ip); err != nil {
		t.Fatalf("b.Release(%v) = %v", ip, err)
	}
	if err := a.Allocate(ctx, ip); err != nil {
		t.Errorf("a.Allocate(%v) after b released it = %v", ip, err)
	}
	if err := a.Allocate(ctx, netip.MustParseAddr("10.0.1.1")); !errors.Is(err, ErrNotInRange) {
		t.Errorf("Allocate outside the range = %v; want ErrNotInRange", err)
	}
}

// laggingStore answers Load from a copy one write behind, as a watched cache that
// has not caught up does; CompareAndSwap goes to the real store.
type laggingStore struct {
	MemStore
	mu             sync.Mutex
	lagBlob        []byte
	lagRev         uint64
	staleLoadsLeft int
}

func (s *laggingStore) Load(ctx context.Context) ([]byte, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.staleLoadsLeft > 0 {
		s.staleLoadsLeft--
		return s.lagBlob, s.lagRev, nil
	}
	return s.MemStore.Load(ctx)
}

func (s *laggingStore) CompareAndSwap(ctx context.Context, rev uint64, blob []byte) (uint64, error) {
	old, oldRev, _ := s.MemStore.Load(ctx)
	n, err := s.MemStore.CompareAndSwap(ctx, rev, blob)
	if err == nil {
		s.mu.Lock()
		s.lagBlob, s.lagRev, s.staleLoadsLeft = old, oldRev, 1
		s.mu.Unlock()
	}
	return n, err
}

// TestSharedRefusalOnStaleLoad: a Store may answer Load from a stale cache (the Store
// contract); a refusal decided on that copy is confirmed by compare-and-swap, so a
// released address is not refused as allocated.
func TestSharedRefusalOnStaleLoad(t *testing.T) {
	st := &laggingStore{}
	a, _ := NewSharedIPRange(netip.MustParsePrefix("10.0.0.0/24"), st, Config{})
	ip := netip.MustParseAddr("10.0.0.10")
	ctx := t.Context()
	if err := a.Allocate(ctx, ip); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, ip); err != nil {
		t.Fatal(err)
	}
	// The next Load returns the state from before the Release: 10.0.0.10 taken.
	if err := a.Allocate(ctx, ip); err != nil {
		t.Errorf("Allocate(released) on a stale Load = %v; want nil", err)
	}
	if err := a.Allocate(ctx, ip); !errors.Is(err, ErrAllocated) {
		t.Errorf("Allocate(held) = %v; want ErrAllocated", err)
	}
}
