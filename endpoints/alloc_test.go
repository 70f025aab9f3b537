package endpoints

import (
	"runtime"
	"testing"
)

// bytesPerReconcile is the heap a reconcile of n endpoints in full slices
// allocates after one endpoint changed.
func bytesPerReconcile(t *testing.T, n int) float64 {
	s := testService()
	ws := pods(0, n)
	existing := apply(nil, mustReconcile(t, Config{}, s, Desired(s, ws), nil))
	ws[n/2].Ready = false
	d := Desired(s, ws)
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if p, _ := Reconcile(Config{}, s, d, existing); len(p.Update) != 1 {
			t.Fatalf("Reconcile(%d endpoints, one changed) = %d updates; want 1", n, len(p.Update))
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / runs
}

// TestReconcileAllocsFollowChange holds a one-endpoint change to the
// allocations of the one slice it rewrites (100 endpoints, 14.4 kB) plus
// a few words per slice (the name-ordered view, the group's share of it,
// the unchanged list and one placement run: four words, 32 bytes, plus
// size-class rounding): going from 1,000 to 20,000 endpoints (10 to 200
// slices) may add 48 bytes per extra slice, 9 kB, where the bool per
// endpoint it used to keep alone added 19 kB.
func TestReconcileAllocsFollowChange(t *testing.T) {
	small, large := bytesPerReconcile(t, 1000), bytesPerReconcile(t, 20000)
	t.Logf("bytes per reconcile: %.0f for 1,000 endpoints, %.0f for 20,000", small, large)
	if limit := small + 48*190; large > limit {
		t.Errorf("bytes per reconcile of 20,000 endpoints = %.0f; want ≤ %.0f (1,000 endpoints: %.0f)", large, limit, small)
	}
}
