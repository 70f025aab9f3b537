package allocator

import (
	"context"
	"errors"
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
