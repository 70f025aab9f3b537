package dataplane_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/svcnet/svcnet/dataplane"
)

// BenchmarkConnect times one request from a client pod through a ClusterIP
// to a backend (a new TCP connection, so a new conntrack entry and a trip
// through the dispatch map and the pick) in three places measured in turn
// within each iteration, so that the machine's load weighs on all alike:
// a random service in a table of 10 services, the same in a table of
// 10,000, and a Maglev service in that table of 10,000. nftables verdict
// maps are O(1) and a jhash costs about what a numgen does, so both
// ratios, 10,000/10 and maglev/random, should be near 1 (DESIGN.md: at
// most 1.1). ns/op is one connection, the mean of the three.
func BenchmarkConnect(b *testing.B) {
	small, large := newRig(b, 2), newRig(b, 2)
	small.sync(b, connectServices(small, 10)...)
	large.sync(b, connectServices(large, 10000)...)
	random := netip.AddrPortFrom(clusterIPv4, 80)
	maglev := netip.AddrPortFrom(clusterIPv4.Next(), 80)
	targets := []struct {
		r   *rig
		dst netip.AddrPort
	}{{small, random}, {large, random}, {large, maglev}}
	var took [3]time.Duration
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for i, t := range targets {
			start := time.Now()
			if _, err := t.r.w.Client.NS.Ask(ctx, "tcp", t.dst); err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(took[0]+took[1]+took[2])/float64(3*b.N), "ns/op")
	b.ReportMetric(float64(took[0])/float64(b.N), "10svc-ns/connect")
	b.ReportMetric(float64(took[1])/float64(b.N), "10ksvc-ns/connect")
	b.ReportMetric(float64(took[2])/float64(b.N), "10ksvc-maglev-ns/connect")
	b.ReportMetric(float64(took[1])/float64(took[0]), "10k/10")
	b.ReportMetric(float64(took[2])/float64(took[1]), "maglev/random")
}

// connectServices returns n services over r's backends: a random one at
// clusterIPv4, a Maglev one at the address after it, and fillers.
func connectServices(r *rig, n int) []dataplane.ServicePort {
	svcs := make([]dataplane.ServicePort, n)
	for i := range svcs {
		ip := netip.AddrFrom4([4]byte{10, 96, 100 + byte(i>>8), byte(i)})
		svcs[i] = clusterIP(fmt.Sprintf("svc-%d", i), dataplane.TCP, ip, ready(clusterIPv4, r.web...))
	}
	svcs[0].ClusterIPs[0] = clusterIPv4
	svcs[1].ClusterIPs[0] = clusterIPv4.Next()
	svcs[1].Balancing = dataplane.Maglev
	return svcs
}
