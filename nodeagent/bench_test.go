package nodeagent

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/resolved"
)

// churnState returns n services with two endpoints each; services [0, k)
// get revision rev and a third endpoint that depends on rev, the rest
// revision 1: the state after one round of churn over k services.
func churnState(n, k int, rev uint64) *resolved.State {
	st := &resolved.State{Version: rev, Services: make([]*resolved.Service, n)}
	for i := range n {
		s := &resolved.Service{Namespace: "bench", Name: fmt.Sprintf("svc-%05d", i), Revision: 1,
			ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})},
			Ports:      []resolved.Port{{Name: "http", Port: 80}}}
		eps := []endpoints.Endpoint{
			{Address: netip.AddrFrom4([4]byte{10, 244, byte(i >> 8), byte(i)}), Conditions: up},
			{Address: netip.AddrFrom4([4]byte{10, 245, byte(i >> 8), byte(i)}), Conditions: up},
		}
		if i < k {
			s.Revision = rev
			eps = append(eps, endpoints.Endpoint{Address: netip.AddrFrom4([4]byte{10, 246, byte(rev), byte(i)}), Conditions: up})
		}
		s.Slices = []endpoints.Slice{{Name: s.Name + "-1", Family: endpoints.IPv4, Ports: []endpoints.Port{{Name: "http", Port: 8080}}, Endpoints: eps}}
		st.Services[i] = s
	}
	return st
}

// benchmarkChurn measures one Apply after 1,000 of 10,000 services changed
// (issue 13: churn of 1,000 services every 400 ms, p90 under 100 ms).
func benchmarkChurn(b *testing.B, dp dataplane.Syncer) {
	const n, k = 10000, 1000
	a, err := New(Config{Node: "n1", Dataplane: dp})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	states := []*resolved.State{churnState(n, 0, 1)}
	for r := range 8 {
		states = append(states, churnState(n, k, uint64(r+2)))
	}
	if err := a.Apply(ctx, states[0]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		st := *states[1+i%8]
		st.Version = uint64(i + 2) // a new version each round; the revisions alternate
		start := time.Now()
		if err := a.Apply(ctx, &st); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "p90-ms")
	if s := a.Stats(); s.FullSyncs != 1 {
		b.Fatalf("%d full syncs; want every churn round incremental", s.FullSyncs)
	}
}

func BenchmarkChurnFake(b *testing.B) { benchmarkChurn(b, dataplane.NewFake(dataplane.Options{})) }

func BenchmarkChurnKernel(b *testing.B) {
	ns := netnstest.NewNS(b, "churn")
	dp, err := dataplane.New(dataplane.Options{NetNS: ns.Path()})
	if err != nil {
		b.Fatal(err)
	}
	defer dp.Close()
	benchmarkChurn(b, dp)
}
