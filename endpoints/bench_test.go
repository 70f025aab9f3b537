package endpoints

import "testing"

// BenchmarkReconcileOneChange measures a 10,000-endpoint service after one
// workload changed, desired endpoints precomputed.
func BenchmarkReconcileOneChange(b *testing.B) {
	s := testService()
	ws := pods(0, 10000)
	existing := apply(nil, Reconcile(Config{}, s, Desired(s, ws), nil))
	ws[5000].Ready = false
	d := Desired(s, ws)
	b.ReportAllocs()
	for b.Loop() {
		p := Reconcile(Config{}, s, d, existing)
		if len(p.Update) != 1 {
			b.Fatalf("updates = %d; want 1", len(p.Update))
		}
	}
}
