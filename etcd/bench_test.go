package etcd

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
)

// BenchmarkAllocate4Writers: 4 allocators, each on its own client, allocate from
// one /16 on a 3-member embedded cluster with fsync on (issue 14's target:
// ≥ 1,000 allocations/s, p99 ≤ 20 ms), per layout, beside a local allocator in the
// same run.
func BenchmarkAllocate4Writers(b *testing.B) {
	c := etcdtest.Start(b, etcdtest.Config{Members: 3, Fsync: true})
	prefix := netip.MustParsePrefix("10.96.0.0/16")
	for _, layout := range []Layout{PerValue, Snapshot} {
		b.Run(layout.String(), func(b *testing.B) {
			key := "/bench/" + layout.String() + "/" + time.Now().Format("150405.000000")
			var as []*IPAllocator
			for range 4 {
				a, err := NewIPAllocator(context.Background(), c.TestClient(b), key, prefix, Config{Layout: layout})
				if err != nil {
					b.Fatal(err)
				}
				defer a.Close()
				as = append(as, a)
			}
			lat := make([][]time.Duration, 4)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w, a := range as {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < b.N; i += 4 {
						t0 := time.Now()
						if _, err := a.AllocateNext(context.Background()); err != nil {
							b.Error(err)
							return
						}
						lat[w] = append(lat[w], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(len(all))/time.Since(start).Seconds(), "allocs/s")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
	b.Run("local", func(b *testing.B) {
		r, err := allocator.NewIPRange(prefix, allocator.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			a, err := r.AllocateNext()
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Release(a); err != nil {
				b.Fatal(err)
			}
		}
	})
}
