package endpoints

import (
	"math/rand"
	"slices"
	"testing"
)

// TestChurn simulates a rolling update of a 1,000-endpoint service and
// random scaling, and reports writes per change and slice efficiency
// (slices / ceil(endpoints / max)).
func TestChurn(t *testing.T) {
	s := testService()
	const max = 100
	cfg := Config{MaxEndpointsPerSlice: max}
	ws := pods(0, 1000)
	next := 1000
	existing := apply(nil, Reconcile(cfg, s, Desired(s, ws), nil))
	rng := rand.New(rand.NewSource(7))
	writes, changes := 0, 0
	worst := 0.0
	step := func() {
		p := Reconcile(cfg, s, Desired(s, ws), existing)
		writes += len(p.Create) + len(p.Update) + len(p.Delete)
		changes++
		existing = apply(existing, p)
		n := 0
		for _, sl := range existing {
			n += len(sl.Endpoints)
		}
		if n > 0 {
			eff := float64(len(existing)) / float64((n+max-1)/max)
			worst = max2(worst, eff)
		}
	}
	// Rolling update: surge one new pod, then remove one old pod.
	for i := range 1000 {
		ws = append(ws, pods(next, 1)...)
		next++
		step()
		ws = slices.DeleteFunc(ws, func(w Workload) bool { return w.Name == pods(i, 1)[0].Name })
		step()
	}
	t.Logf("rolling update: %d changes, %.2f writes per change, worst efficiency %.2f", changes, float64(writes)/float64(changes), worst)
	if wpc := float64(writes) / float64(changes); wpc > 1.01 {
		t.Errorf("rolling update writes per change = %.2f; want ≤ 1 (one slice per pod event)", wpc)
	}
	if worst > 1.1 {
		t.Errorf("rolling update worst efficiency = %.2f; want ≤ 1.1", worst)
	}
	writes, changes, worst = 0, 0, 0
	for range 200 {
		if rng.Intn(2) == 0 {
			ws = append(ws, pods(next, 1+rng.Intn(50))...)
			next += 1000
		} else if len(ws) > 1 {
			for range 1 + rng.Intn(50) {
				k := rng.Intn(len(ws))
				ws = slices.Delete(ws, k, k+1)
			}
		}
		step()
	}
	t.Logf("random scaling: %d changes, %.2f writes per change, worst efficiency %.2f", changes, float64(writes)/float64(changes), worst)
}

func max2(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}
