package dataplane

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
				d, err := queueFull(scratchNS(b), svcs)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := d.commitBatch(&d.b); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = d.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkKernelFloorOneElement is the floor under BenchmarkUpdate: one
// batch that deletes one element of a map and adds it back, encoded and
// sent on a Dataplane holding n services, with no state to update. It is
// what one netlink transaction costs, whatever the Go side does.
func BenchmarkKernelFloorOneElement(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			d, err := New(Options{NetNS: scratchNS(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			if _, err := d.Sync(context.Background(), benchServices(n, 10)); err != nil {
				b.Fatal(err)
			}
			name, s, e := oneElemSet(d.st)
			if s == nil {
				b.Fatal("no plain map with elements to change")
			}
			b.ReportAllocs()
			for b.Loop() {
				d.b.reset()
				d.b.startElems(byte(d.table().Family), d.opts.table(), name, s, false)
				d.b.elem(e)
				d.b.startElems(byte(d.table().Family), d.opts.table(), name, s, true)
				d.b.elem(e)
				d.b.finish()
				if err := d.commitBatch(&d.b); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// oneElemSet returns a map of st, by name, whose elements are neither
// intervals nor verdicts, and one element of it from a service port: an
// element that deleting and adding back leaves as it was.
func oneElemSet(st *state) (string, *set, elem) {
	for _, k := range slices.SortedFunc(maps.Keys(st.frags), func(a, b Key) int { return strings.Compare(a.Name, b.Name) }) {
		for set, r := range st.frags[k].parts {
			if s := st.base[set]; kindOf(s) == elemMap && r.n > 0 {
				for e := range r.all {
					return s.name, s, e
				}
			}
		}
	}
	return "", nil, elem{}
}

// queueFull opens a Dataplane on ns and encodes, without sending, the one
// batch of a full sync of svcs: what the floor sends.
func queueFull(ns string, svcs []ServicePort) (*Dataplane, error) {
	d, err := New(Options{NetNS: ns})
	if err != nil {
		return nil, err
	}
	st, err := newState(&d.opts)
	if err == nil {
		if _, refused := st.update(svcs, false); refused != nil {
			err = refusedErr(refused)
		}
	}
	if err == nil {
		d.b.reset()
		x := &tx{c: d.enc, b: &d.b, t: d.table(), stats: &Stats{}}
		if err = x.full(st); err == nil {
			err = x.encode()
		}
		d.b.finish()
	}
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// freshEnv makes the test binary a fresh process that times one cold
// full sync, the floor and a warm full sync, for BenchmarkFreshProcess:
// "services,endpoints,ns1,ns2,ns3".
const freshEnv = "SVCNET_DATAPLANE_FRESH"

// BenchmarkFreshProcess times a full sync in a fresh process (the test
// binary run again, with the Go runtime's defaults), side by side in that
// process with the kernel floor and a warm full sync of the same services,
// each into a namespace of its own: what a node agent pays on a restart.
// ns/op is the fresh sync; fresh/floor and warm/floor are the ratios
// DESIGN.md sets targets for. On a loaded machine wall time is mostly
// waiting for a core, so the process's CPU time (user and system) is
// reported beside it, with its ratios, and the floor's system time: the
// kernel's own work; the rest of the floor is netlink's marshalling.
func BenchmarkFreshProcess(b *testing.B) {
	for _, c := range []struct{ n, eps int }{{10000, 10}, {45000, 1}} {
		b.Run(fmt.Sprintf("services=%d/endpoints=%d", c.n, c.eps), func(b *testing.B) {
			var sum freshFigures
			var ratios []float64 // each process's fresh/floor
			// The timer runs over the whole iteration, so that b.Loop sizes
			// b.N by what an iteration costs (a default -benchtime runs it
			// once); report then puts the fresh sync's time in ns/op.
			for b.Loop() {
				spec := fmt.Sprintf("%d,%d,%s,%s,%s", c.n, c.eps, scratchNS(b), scratchNS(b), scratchNS(b))
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), freshEnv+"="+spec)
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("fresh process: %v\n%s", err, out)
				}
				var f freshFigures
				if err := json.Unmarshal(out, &f); err != nil {
					b.Fatalf("fresh process printed %q: %v", out, err)
				}
				sum.add(&f)
				ratios = append(ratios, float64(f.Wall[0])/float64(f.Wall[1]))
			}
			sum.report(b)
			// The floor of one process varies by a third from run to
			// run on a VM: each process's ratio pairs its fresh sync with
			// a floor measured under the same conditions, and their
			// median is the figure an outlier does not move.
			b.ReportMetric(median(ratios), "fresh/floor-median")
		})
	}
}

// freshFigures are what one fresh process measured: wall and CPU time,
// GC cycles and minor page faults (fresh memory from the kernel) of each
// sync, and the floor's system time.
type freshFigures struct {
	Wall, CPU   [3]time.Duration // fresh, floor, warm
	FloorSys    time.Duration
	GCs, Faults [3]int64
}

func (f *freshFigures) add(o *freshFigures) {
	for i := range 3 {
		f.Wall[i] += o.Wall[i]
		f.CPU[i] += o.CPU[i]
		f.GCs[i] += o.GCs[i]
		f.Faults[i] += o.Faults[i]
	}
	f.FloorSys += o.FloorSys
}

func (f *freshFigures) report(b *testing.B) {
	n := float64(b.N)
	for i, name := range []string{"", "floor-", "warm-"} {
		if i > 0 {
			b.ReportMetric(float64(f.Wall[i])/n, name+"ns/op")
		}
		b.ReportMetric(float64(f.CPU[i])/n, name+"cpu-ns/op")
		b.ReportMetric(float64(f.Faults[i])/n, name+"faults/op")
	}
	b.ReportMetric(float64(f.Wall[0])/n, "ns/op")
	b.ReportMetric(float64(f.FloorSys)/n, "floor-sys-ns/op")
	b.ReportMetric(float64(f.GCs[0])/n, "gcs/op")
	b.ReportMetric(float64(f.GCs[2])/n, "warm-gcs/op")
	b.ReportMetric(float64(f.Wall[0])/float64(f.Wall[1]), "fresh/floor")
	b.ReportMetric(float64(f.Wall[2])/float64(f.Wall[1]), "warm/floor")
	b.ReportMetric(float64(f.CPU[0])/float64(f.CPU[1]), "cpu-fresh/floor")
	b.ReportMetric(float64(f.CPU[2])/float64(f.CPU[1]), "cpu-warm/floor")
}

// usage is the process's CPU time so far, its system part, and its minor
// page faults.
func usage() (cpu, sys time.Duration, faults int64) {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	sys = time.Duration(ru.Stime.Nano())
	return time.Duration(ru.Utime.Nano()) + sys, sys, ru.Minflt
}

// measure runs fn and records its figures at i.
func (f *freshFigures) measure(i int, fn func() error) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcs := ms.NumGC
	cpu, sys, faults := usage()
	start := time.Now()
	err := fn()
	f.Wall[i] = time.Since(start)
	cpu2, sys2, faults2 := usage()
	runtime.ReadMemStats(&ms)
	f.CPU[i], f.Faults[i], f.GCs[i] = cpu2-cpu, faults2-faults, int64(ms.NumGC-gcs)
	if i == 1 {
		f.FloorSys = sys2 - sys
	}
	return err
}

// freshProcess is the child of BenchmarkFreshProcess: a cold full sync
// first (the process's first large allocation), then the floor, then a
// warm full sync while the cold one's state is still alive, as in a node
// agent that syncs again. It returns its figures as JSON.
func freshProcess(spec string) (string, error) {
	var n, eps int
	parts := strings.Split(spec, ",")
	if len(parts) != 5 {
		return "", fmt.Errorf("%s=%q: want services,endpoints,ns1,ns2,ns3", freshEnv, spec)
	}
	if _, err := fmt.Sscanf(parts[0]+" "+parts[1], "%d %d", &n, &eps); err != nil {
		return "", err
	}
	svcs := benchServices(n, eps)
	var f freshFigures
	for i, ns := range parts[2:] {
		var d *Dataplane
		var err error
		if i == 1 {
			d, err = queueFull(ns, svcs)
		} else {
			d, err = New(Options{NetNS: ns})
		}
		if err != nil {
			return "", err
		}
		// The fresh sync's state stays alive through the warm one.
		defer d.Close()
		err = f.measure(i, func() error {
			if i == 1 {
				return d.commitBatch(&d.b)
			}
			_, err := d.Sync(context.Background(), svcs)
			return err
		})
		if err != nil {
			return "", err
		}
	}
	out, err := json.Marshal(&f)
	return string(out) + "\n", err
}

// BenchmarkFirstUpdate times the first Update after a full sync of n
// services, each in a fresh namespace: what a node agent pays for the
// first endpoint change after a cold start. Beside it, in the same
// iteration, it times the next laterUpdates Updates (each of another
// service) and reports first/later, which should be near 1.
//
// A first Update may share its CPU with the kernel's work after the full
// sync (resizing the sets' hash tables, freeing a replaced table), which a
// few iterations pay for in milliseconds; median-ns/op beside the mean
// tells them from the rest.
//
// B/op and allocs/op are those of one more Update after the timed ones:
// reading them stops the world and empties every P's allocation cache,
// which the Update after a read refills, so no timed Update follows one
// (reading them before the first Update made it 1.3× slower than a
// caller's would be).
func BenchmarkFirstUpdate(b *testing.B) {
	const laterUpdates = 4
	for _, n := range []int{1000, 10000, 45000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			eps := 10
			if n > 10000 {
				eps = 1
			}
			svcs := benchServices(n, eps)
			var first, later time.Duration
			var firsts []time.Duration
			var bytes, allocs uint64
			// The timer runs over the whole iteration (a fresh namespace and
			// a full sync, seconds at 45,000), so that b.Loop sizes b.N by
			// that and a default -benchtime runs it about once; the first
			// Update's own time and the figures of the untimed one replace
			// ns/op, B/op and allocs/op at the end.
			for b.Loop() {
				d, err := New(Options{NetNS: scratchNS(b)})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := d.Sync(context.Background(), svcs); err != nil {
					b.Fatal(err)
				}
				for k := range 1 + laterUpdates {
					took := timedUpdate(b, d, svcs, n/2+k)
					if k == 0 {
						first += took
						firsts = append(firsts, took)
					} else {
						later += took
					}
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				timedUpdate(b, d, svcs, n/2+1+laterUpdates)
				runtime.ReadMemStats(&after)
				bytes += after.TotalAlloc - before.TotalAlloc
				allocs += after.Mallocs - before.Mallocs
				_ = d.Close()
			}
			n := float64(b.N)
			b.ReportMetric(float64(first)/n, "ns/op")
			b.ReportMetric(median(firsts), "median-ns/op")
			b.ReportMetric(float64(bytes)/n, "B/op")
			b.ReportMetric(float64(allocs)/n, "allocs/op")
			b.ReportMetric(float64(later)/float64(laterUpdates*b.N), "later-ns/op")
			b.ReportMetric(float64(first)/(float64(later)/laterUpdates), "first/later")
		})
	}
}

// median is the median of xs (sorting xs), in their unit: nanoseconds for durations.
func median[T time.Duration | float64](xs []T) float64 {
	slices.Sort(xs)
	return float64(xs[len(xs)/2]+xs[(len(xs)-1)/2]) / 2
}

// timedUpdate moves the first endpoint of svcs[i] to the next port,
// sends a copy of it through Update and returns how long Update took.
func timedUpdate(b *testing.B, d *Dataplane, svcs []ServicePort, i int) time.Duration {
	// svcs[i] changes in place, so that a service updated before (the
	// loop comes back to each) changes again rather than not at all.
	ep := &svcs[i].Endpoints[0].Addr
	*ep = netip.AddrPortFrom(ep.Addr(), 10000+(ep.Port()+1)%50000)
	sp := cloneSP(&svcs[i])
	start := time.Now()
	if _, err := d.Update(context.Background(), []ServicePort{sp}, nil); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkUpdateAfter tells what the first Update after a full sync pays
// for from what any Update pays after the process idled. On one Dataplane
// holding n services, each iteration does something untimed (before=sync:
// a full sync, replacing the table; before=update: an Update of another
// service), stays idle for the given time, then times one Update. With
// idle=0s, before=update is a warm Update and before=sync the first after
// a full sync; before=update/idle=100ms is what idling alone costs, and
// before=sync/idle=100ms what is left of the full sync's cost once the
// kernel's work after it is done. services=10 tells what the machine
// charges any Update after idling, whatever the table holds. B/op and
// allocs/op count whole iterations: what the timed Update allocates is
// BenchmarkUpdate's.
func BenchmarkUpdateAfter(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		svcs := benchServices(n, 10)
		for _, before := range []string{"update", "sync"} {
			for _, idle := range []time.Duration{0, 100 * time.Millisecond} {
				b.Run(fmt.Sprintf("services=%d/before=%s/idle=%v", n, before, idle), func(b *testing.B) {
					benchUpdateAfter(b, svcs, before == "sync", idle)
				})
			}
		}
	}
}

func benchUpdateAfter(b *testing.B, svcs []ServicePort, full bool, idle time.Duration) {
	ctx := context.Background()
	d, err := New(Options{NetNS: scratchNS(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Sync(ctx, svcs); err != nil {
		b.Fatal(err)
	}
	n := len(svcs)
	var took time.Duration
	var times []time.Duration
	i := 0
	// As in BenchmarkFirstUpdate, the timer runs over the whole iteration
	// and the timed Update's own time replaces ns/op.
	for b.Loop() {
		i += 2
		if full {
			d.Resync()
			if _, err := d.Sync(ctx, svcs); err != nil {
				b.Fatal(err)
			}
		} else {
			timedUpdate(b, d, svcs, i%n)
		}
		time.Sleep(idle)
		t := timedUpdate(b, d, svcs, (i+1)%n)
		took += t
		times = append(times, t)
	}
	b.ReportMetric(float64(took)/float64(b.N), "ns/op")
	b.ReportMetric(median(times), "median-ns/op")
}
