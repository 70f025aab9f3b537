package manifests

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestDebouncerMaxWait holds issue 13: changes every 100 ms starved the
// 250 ms debounce (0 syncs in 60 s). With a maximum wait of 1 s, 60 s of
// such churn loads about 60 times; without one it would load never. The
// clock is simulated: the count does not depend on the machine's speed.
func TestDebouncerMaxWait(t *testing.T) {
	for _, tc := range []struct {
		maxWait   time.Duration
		min, max  int
		ruleStory string
	}{
		{time.Second, 59, 61, "max wait 1s: one load per second of churn"},
		{time.Hour, 0, 0, "no effective max wait: churn starves the debounce"},
	} {
		d := debouncer{debounce: 250 * time.Millisecond, maxWait: tc.maxWait}
		start := time.Unix(0, 0)
		var due time.Time
		pending, loads := false, 0
		for ev := start; ev.Before(start.Add(60 * time.Second)); ev = ev.Add(100 * time.Millisecond) {
			if pending && !due.After(ev) { // the timer fires before this event
				d.fired()
				loads++
				pending = false
			}
			due, pending = d.event(ev), true
		}
		if loads < tc.min || loads > tc.max {
			t.Errorf("%s: %d loads in 60s of churn every 100ms; want %d-%d", tc.ruleStory, loads, tc.min, tc.max)
		}
	}
}

// recorder collects Watch's calls.
type recorder struct {
	mu    sync.Mutex
	sets  []Set
	errs  [][]error
	calls chan struct{}
}

func newRecorder() *recorder { return &recorder{calls: make(chan struct{}, 1000)} }

func (r *recorder) fn(s Set, errs []error) {
	r.mu.Lock()
	r.sets, r.errs = append(r.sets, s), append(r.errs, errs)
	r.mu.Unlock()
	r.calls <- struct{}{}
}

// next waits for the next call and returns it; the deadline only guards
// against a hang and is far beyond any debounce.
func (r *recorder) next(t *testing.T) (Set, []error) {
	t.Helper()
	select {
	case <-r.calls:
	case <-time.After(20 * time.Second):
		t.Fatal("Watch made no call")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sets[len(r.sets)-1], r.errs[len(r.errs)-1]
}

// watch runs Watch until the test ends and checks it returns ctx's error.
func watch(t *testing.T, cfg Config) *recorder {
	r := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Watch(ctx, cfg, r.fn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch = %v; want context.Canceled", err)
		}
	})
	return r
}

func fast(dir string) Config {
	return Config{Dir: dir, Debounce: 20 * time.Millisecond, MaxWait: 100 * time.Millisecond}
}

// TestWatchReportsChanges: a change, a removal, a truncation and a rewrite
// each give a call with what the directory holds; files Watch ignores
// (hidden, other extensions) give none.
func TestWatchReportsChanges(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", svc("a", ""))
	r := watch(t, fast(dir))
	if set, _ := r.next(t); len(set.Services) != 1 {
		t.Fatalf("first call: %v; want a", serviceNames(set))
	}
	steps := []struct {
		do   func()
		want int
	}{
		{func() { write(t, dir, "b.yaml", svc("b", "")+"---\n"+svc("c", "")) }, 3},
		{func() { write(t, dir, "b.yaml", svc("b", "")+"---\n") }, 2}, // cut at a ---
		{func() { write(t, dir, "b.yaml", "") }, 1},                   // truncated
		{func() { write(t, dir, "b.yaml", svc("b", "")+"---\n"+svc("c", "")) }, 3},
		{func() { os.Remove(filepath.Join(dir, "b.yaml")) }, 1},
	}
	for i, s := range steps {
		// Ignored names first: were they not ignored, the call checked
		// below would come from them and show the old count.
		write(t, dir, ".svcnet-state.json", strconv.Itoa(i))
		write(t, dir, "notes.txt", strconv.Itoa(i))
		s.do()
		if set, _ := r.next(t); len(set.Services) != s.want {
			t.Errorf("step %d: services %v; want %d", i, serviceNames(set), s.want)
		}
	}
}

// TestWatchChurnStillLoads holds issue 13's starvation case end to end: a
// writer changes a file far more often than the debounce allows, and
// keeps writing until it has seen three loads of newer versions. With a
// debounce of an hour, only the maximum wait can produce them; without it
// the test would never end (and fail on the recorder's guard).
func TestWatchChurnStillLoads(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", svc("v0", ""))
	r := watch(t, Config{Dir: dir, Debounce: time.Hour, MaxWait: 200 * time.Millisecond})
	r.next(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				write(t, dir, "a.yaml", svc("v"+strconv.Itoa(i), ""))
			}
		}
	}()
	defer wg.Wait()
	defer close(stop)
	// os.WriteFile truncates before it writes: a load in between sees an
	// empty file, which is faithful and does not count.
	for seen := 0; seen < 3; {
		set, _ := r.next(t)
		switch {
		case len(set.Services) == 0:
		case len(set.Services) == 1 && set.Services[0].Name != "v0":
			seen++
		default:
			t.Fatalf("load during churn: %v; want one newer version or none", serviceNames(set))
		}
	}
}

// TestWatchDirectoryReplaced: the directory removed and created again, or
// renamed away and another renamed into its place, is watched again.
func TestWatchDirectoryReplaced(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "m")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "a.yaml", svc("a", ""))
	r := watch(t, fast(dir))
	r.next(t)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, errs := r.next(t); len(errs) != 1 || !errors.Is(errs[0], ErrDirectory) {
		t.Fatalf("directory removed: errors %v; want ErrDirectory", errs)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "b.yaml", svc("b", ""))
	// Depending on timing the mkdir and the write are one load or two.
	for {
		set, errs := r.next(t)
		if len(set.Services) == 1 && set.Services[0].Name == "b" && len(errs) == 0 {
			break
		}
	}
	next := filepath.Join(parent, "m.new")
	if err := os.Mkdir(next, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, next, "c.yaml", svc("c", ""))
	if err := os.Rename(dir, filepath.Join(parent, "m.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, dir); err != nil {
		t.Fatal(err)
	}
	for {
		set, _ := r.next(t)
		if len(set.Services) == 1 && set.Services[0].Name == "c" {
			break
		}
	}
	// And the new directory is watched: a change in it is seen.
	write(t, dir, "d.yaml", svc("d", ""))
	if set, _ := r.next(t); len(set.Services) != 2 {
		t.Errorf("change in the replaced directory: %v; want c and d", serviceNames(set))
	}
}

// TestWatchBadFileGoesAway: a FIFO appearing is reported and its removal
// triggers a clean load.
func TestWatchBadFileGoesAway(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", svc("a", ""))
	r := watch(t, fast(dir))
	r.next(t)
	fifo := filepath.Join(dir, "b.yaml")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	if set, errs := r.next(t); len(errs) != 1 || !errors.Is(errs[0], ErrNotRegular) || len(set.Services) != 1 {
		t.Fatalf("FIFO: %v, %v; want a and ErrNotRegular", serviceNames(set), errs)
	}
	os.Remove(fifo)
	if set, errs := r.next(t); len(errs) != 0 || len(set.Services) != 1 {
		t.Errorf("FIFO removed: %v, %v; want a, no error", serviceNames(set), errs)
	}
}
