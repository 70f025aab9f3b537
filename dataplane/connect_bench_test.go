package dataplane_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/svcnet/svcnet/dataplane"
)

// BenchmarkConnect times one request from a client pod through a ClusterIP
// to a backend (a new TCP connection, so a new conntrack entry and a trip
// through the dispatch map and the pick), with 10 or 10,000 services in
// the table, random or Maglev: nftables verdict maps are O(1), so the
// figures should match (DESIGN.md: ratio ≤ 1.1).
func BenchmarkConnect(b *testing.B) {
	for _, c := range []struct {
		services int
		bal      dataplane.Balancing
	}{{10, dataplane.Random}, {10000, dataplane.Random}, {10, dataplane.Maglev}, {10000, dataplane.Maglev}} {
		name := "random"
		if c.bal == dataplane.Maglev {
			name = "maglev"
		}
		b.Run(fmt.Sprintf("services=%d/%s", c.services, name), func(b *testing.B) {
			r := newRig(b, 2)
			svcs := make([]dataplane.ServicePort, c.services)
			for i := range svcs {
				ip := netip.AddrFrom4([4]byte{10, 96, 100 + byte(i>>8), byte(i)})
				svcs[i] = clusterIP(fmt.Sprintf("svc-%d", i), dataplane.TCP, ip, ready(clusterIPv4, r.web...))
				svcs[i].Balancing = c.bal
			}
			svcs[0].ClusterIPs[0] = clusterIPv4
			r.sync(b, svcs...)
			dst := netip.AddrPortFrom(clusterIPv4, 80)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.w.Client.NS.Ask(ctx, "tcp", dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
