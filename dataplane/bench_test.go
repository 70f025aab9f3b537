package dataplane

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
)

// benchServices returns n service ports with eps ready endpoints each.
func benchServices(n, eps int) []ServicePort {
	svcs := make([]ServicePort, n)
	for i := range svcs {
		sp := ServicePort{Namespace: "bench", Name: fmt.Sprintf("svc-%d", i), PortName: "http", Protocol: TCP, Port: 80,
			ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})}}
		if i < 20000 {
			sp.NodePort = uint16(30000 + i)
		}
		if i >= 65536 {
			sp.ClusterIPs[0] = netip.AddrFrom4([4]byte{10, 97 + byte(i>>16), byte(i >> 8), byte(i)})
		}
		for j := range eps {
			sp.Endpoints = append(sp.Endpoints, Endpoint{Addr: netip.AddrPortFrom(
				netip.AddrFrom4([4]byte{10, 244, byte(j), byte(i % 250)}), uint16(8000+i%1000))})
		}
		svcs[i] = sp
	}
	return svcs
}

func BenchmarkRender(b *testing.B) {
	svcs := benchServices(1000, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(Options{}, svcs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFullSync loads n service ports × eps endpoints into a fresh
// namespace (a new one per iteration) over netlink.
func BenchmarkFullSync(b *testing.B) {
	for _, c := range []struct{ n, eps int }{{10000, 10}, {45000, 1}} {
		b.Run(fmt.Sprintf("services=%d/endpoints=%d", c.n, c.eps), func(b *testing.B) {
			svcs := benchServices(c.n, c.eps)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				d, err := New(Options{NetNS: scratchNS(b)})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := d.Sync(context.Background(), svcs); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = d.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkIncrementalSync changes one endpoint of one service among n and
// syncs, end to end through Sync.
func BenchmarkIncrementalSync(b *testing.B) {
	benchChange(b, func(d *Dataplane, svcs []ServicePort, _ int) error {
		_, err := d.Sync(context.Background(), svcs)
		return err
	})
}

// BenchmarkUpdate changes one endpoint of one service among n through
// Update, which looks only at that service.
func BenchmarkUpdate(b *testing.B) {
	benchChange(b, func(d *Dataplane, svcs []ServicePort, i int) error {
		_, err := d.Update(context.Background(), svcs[i:i+1], nil)
		return err
	})
}

// benchChange loads n services, then on each iteration changes one
// endpoint of service i and has apply send the change.
func benchChange(b *testing.B, apply func(d *Dataplane, svcs []ServicePort, i int) error) {
	for _, n := range []int{1000, 10000, 45000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			eps := 10
			if n > 10000 {
				eps = 1
			}
			svcs := benchServices(n, eps)
			d, err := New(Options{NetNS: scratchNS(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			if _, err := d.Sync(context.Background(), svcs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				sp := &svcs[i%n]
				sp.Endpoints[0].Addr = netip.AddrPortFrom(sp.Endpoints[0].Addr.Addr(), uint16(20000+i%20000))
				if err := apply(d, svcs, i%n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuild is the Go side of a full sync: the ruleset of 10,000
// service ports × 10 endpoints, without the kernel.
func BenchmarkBuild(b *testing.B) {
	svcs := benchServices(10000, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := build(&Options{}, svcs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKernelFloor is the kernel's own share of a full sync: the same
// messages as BenchmarkFullSync's, built and queued before the timer, so
// that only sending them and the kernel's commit are timed. Full sync
// figures are reported as a ratio to it.
func BenchmarkKernelFloor(b *testing.B) {
	for _, c := range []struct{ n, eps int }{{10000, 10}, {45000, 1}} {
		b.Run(fmt.Sprintf("services=%d/endpoints=%d", c.n, c.eps), func(b *testing.B) {
			svcs := benchServices(c.n, c.eps)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				d, err := New(Options{NetNS: scratchNS(b)})
				if err != nil {
					b.Fatal(err)
				}
				st, err := newState(&d.opts)
				if err != nil {
					b.Fatal(err)
				}
				if _, refused := st.update(svcs, false); refused != nil {
					b.Fatal(refused)
				}
				var stats Stats
				if err := (&tx{c: d.conn, t: d.table(), stats: &stats}).full(st); err != nil {
					b.Fatal(err)
				}
				if stats.Batches > 0 {
					b.Fatalf("the floor needs one batch; %d elements took %d", stats.ElementsAdded, stats.Batches+1)
				}
				b.StartTimer()
				if err := d.conn.Flush(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = d.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkFirstUpdate times the first Update after a full sync of n
// services, each in a fresh namespace: what a node agent pays for the
// first endpoint change after a cold start.
func BenchmarkFirstUpdate(b *testing.B) {
	for _, n := range []int{1000, 10000, 45000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			eps := 10
			if n > 10000 {
				eps = 1
			}
			svcs := benchServices(n, eps)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				d, err := New(Options{NetNS: scratchNS(b)})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := d.Sync(context.Background(), svcs); err != nil {
					b.Fatal(err)
				}
				sp := cloneSP(&svcs[n/2])
				sp.Endpoints[0].Addr = netip.AddrPortFrom(sp.Endpoints[0].Addr.Addr(), 9999)
				b.StartTimer()
				if _, err := d.Update(context.Background(), []ServicePort{sp}, nil); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = d.Close()
				b.StartTimer()
			}
		})
	}
}
