package endpoints

import (
	"slices"
	"testing"
)

// BenchmarkReconcileOneChange measures a 10,000-endpoint service after one
// workload changed, desired endpoints precomputed.
func BenchmarkReconcileOneChange(b *testing.B) {
	s := testService()
	ws := pods(0, 10000)
	existing := apply(nil, mustReconcile(b, Config{}, s, Desired(s, ws), nil))
	ws[5000].Ready = false
	d := Desired(s, ws)
	b.ReportAllocs()
	for b.Loop() {
		p := mustReconcile(b, Config{}, s, d, existing)
		if len(p.Update) != 1 {
			b.Fatalf("updates = %d; want 1", len(p.Update))
		}
	}
}

// BenchmarkReconcileScaleDown measures a 10,000-endpoint service in full
// slices scaled down to half, every other endpoint removed: Kubernetes'
// placement alone (100 updates of 50) and with the repack (5,000
// endpoints may keep 50 slices plus 5: 55 updates, 45 deletes).
func BenchmarkReconcileScaleDown(b *testing.B) {
	s := testService()
	ws := pods(0, 10000)
	existing := apply(nil, mustReconcile(b, Config{}, s, Desired(s, ws), nil))
	d := Desired(s, ws)
	d[0].Endpoints = slices.DeleteFunc(d[0].Endpoints, func(e Endpoint) bool { return e.Address.As4()[3]%2 == 1 })
	for _, bc := range []struct {
		name           string
		cfg            Config
		update, delete int
	}{
		{"kubernetes", Config{SliceOverheadPercent: -1}, 100, 0},
		{"repack", Config{}, 55, 45},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p := mustReconcile(b, bc.cfg, s, d, existing)
				if len(p.Update) != bc.update || len(p.Delete) != bc.delete {
					b.Fatalf("Reconcile() = %d updates, %d deletes; want %d, %d", len(p.Update), len(p.Delete), bc.update, bc.delete)
				}
			}
		})
	}
}
