package manifests

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLatest(t *testing.T) {
	var x Latest
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, gen, err := x.Next(ctx, 0); !errors.Is(err, context.Canceled) || gen != 0 {
		t.Errorf("empty Next = gen %d, %v; want 0, context.Canceled", gen, err)
	}
	got := make(chan uint64)
	go func() {
		set, _, gen, err := x.Next(context.Background(), 0)
		if err != nil || len(set.Services) != 1 {
			t.Errorf("Next = %v, %v; want the stored set", set, err)
		}
		got <- gen
	}()
	x.Store(Set{Services: []Service{{Meta: Meta{Name: "a"}}}}, nil)
	if gen := <-got; gen != 1 {
		t.Errorf("first generation = %d; want 1", gen)
	}
	x.Store(Set{}, []error{errors.New("x")})
	x.Store(Set{}, nil)
	if _, errs, gen, err := x.Next(context.Background(), 1); gen != 3 || errs != nil || err != nil {
		t.Errorf("Next(after 1) = gen %d, %v, %v; want the latest, 3", gen, errs, err)
	}
}

// TestLatestWithWatch: Watch feeding a Latest, the way a control plane's
// source uses it.
func TestLatestWithWatch(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", svc("a", ""))
	var x Latest
	// The timeout only guards against a hang; Next fails the test then.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	done := make(chan error)
	go func() { done <- NewLoader(fast(dir)).Watch(ctx, x.Store) }()
	defer func() {
		cancel()
		<-done
	}()
	set, _, gen, err := x.Next(ctx, 0)
	if err != nil || len(set.Services) != 1 {
		t.Fatalf("first Next = %v, %v", serviceNames(set), err)
	}
	write(t, dir, "b.yaml", svc("b", ""))
	for len(set.Services) != 2 {
		if set, _, gen, err = x.Next(ctx, gen); err != nil {
			t.Fatal(err)
		}
	}
}
