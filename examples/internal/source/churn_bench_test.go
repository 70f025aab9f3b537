package source

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
)

// churnPeriod is issue 13's churn: 1,000 services changing every 400 ms.
const (
	churnPeriod   = 400 * time.Millisecond
	churnServices = 1000
)

// writeChurnPods writes the pods of services [0, n) in files of 100, each
// pod's address carrying round in its second octet, so that every round
// changes every service's endpoint.
func writeChurnPods(tb testing.TB, dir string, n, round int) {
	for f := range n / 100 {
		var pods strings.Builder
		for i := f * 100; i < f*100+100; i++ {
			fmt.Fprintf(&pods, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d, namespace: bench, labels: {app: s%d}}\nspec: {nodeName: n1, containers: [{name: c, image: i}]}\nstatus: {phase: Running, podIP: 10.%d.%d.%d, conditions: [{type: Ready, status: \"True\"}]}\n",
				i, i, roundOctet(round), i>>8, i&255)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("pods-%03d.yaml", f)), []byte(pods.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func roundOctet(round int) byte { return byte(100 + round%100) }

// kernelProbe wraps the node's dataplane and reports when every service
// port's first endpoint carries the round's octet: the moment the kernel
// holds the whole round.
type kernelProbe struct {
	dataplane.Syncer
	mu   sync.Mutex
	cur  map[dataplane.Key]byte // the second octet of each port's endpoint
	want atomic.Uint32          // the octet of the round under way
	n    int                    // service ports in the world
	done chan time.Time         // gets the time a round is whole in the kernel
}

func (p *kernelProbe) note(ports []dataplane.ServicePort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range ports {
		if len(ports[i].Endpoints) > 0 {
			p.cur[ports[i].Key()] = ports[i].Endpoints[0].Addr.Addr().As4()[1]
		}
	}
	want := byte(p.want.Load())
	if len(p.cur) < p.n {
		return
	}
	for _, o := range p.cur {
		if o != want {
			return
		}
	}
	select {
	case p.done <- time.Now():
	default:
	}
}

func (p *kernelProbe) Sync(ctx context.Context, svcs []dataplane.ServicePort) (dataplane.Stats, error) {
	st, err := p.Syncer.Sync(ctx, svcs)
	if err == nil {
		p.note(svcs)
	}
	return st, err
}

func (p *kernelProbe) Update(ctx context.Context, upsert []dataplane.ServicePort, remove []dataplane.Key) (dataplane.Stats, error) {
	st, err := p.Syncer.Update(ctx, upsert, remove)
	if err == nil {
		p.note(upsert)
	}
	return st, err
}

// stamps records when the last load and the last publish happened, to
// split a round's latency into its stages.
type stamps struct {
	store, publish atomic.Int64 // unix nanoseconds
	loads          atomic.Int64 // Watch's calls
}

type stampedSink struct {
	*resolved.Latest
	at *atomic.Int64
}

func (s stampedSink) Publish(ctx context.Context, st *resolved.State) error {
	s.at.Store(time.Now().UnixNano())
	return s.Latest.Publish(ctx, st)
}

// BenchmarkChurnLatency measures issue 13's churn end to end through the
// whole composition on a kernel: every 400 ms the pods of 1,000 services
// (of a world of services=N) are rewritten with new addresses, and each op
// is one round, from the first manifest write to the moment the node's
// kernel holds every changed endpoint (manifests Watch → source →
// controlplane.Run → resolved.Latest → nodeagent.Run → dataplane.Update
// in a network namespace). It reports the p50/p90 of that latency, the
// p50/p90 of the sync alone (load done → kernel, what a proxy's sync
// latency counts), and the median of the stages: write→load (the Watch
// debounce and the Load), load→publish (Resolve), publish→kernel (Diff,
// DNS, the kernel batch).
func BenchmarkChurnLatency(b *testing.B) {
	for _, n := range []int{churnServices, 10 * churnServices} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) { benchmarkChurnLatency(b, n) })
	}
}

func benchmarkChurnLatency(b *testing.B, n int) {
	ns := netnstest.NewNS(b, "churn")
	dir := b.TempDir()
	var svcs strings.Builder
	for i := range n {
		fmt.Fprintf(&svcs, "---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: bench}\nspec:\n  selector: {app: s%d}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(svcs.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	writeChurnPods(b, dir, n, 0)
	dp, err := dataplane.New(dataplane.Options{NetNS: ns.Path()})
	if err != nil {
		b.Fatal(err)
	}
	defer dp.Close()
	probe := &kernelProbe{Syncer: dp, cur: map[dataplane.Key]byte{}, n: churnServices, done: make(chan time.Time, 1)}
	probe.want.Store(uint32(roundOctet(0)))
	stop, at := runComposition(b, dir, probe)
	defer stop()
	waitRound(b, probe)
	// Only the first churnServices services churn; the probe watches them.
	probe.mu.Lock()
	for k := range probe.cur {
		if !strings.HasPrefix(k.Name, "s") || len(k.Name) > len(fmt.Sprint(churnServices-1))+1 {
			delete(probe.cur, k)
		}
	}
	probe.mu.Unlock()

	var total, load, resolve, apply, sync []time.Duration
	b.ReportAllocs()
	cpu0, loads0 := cpuTime(b), at.loads.Load()
	b.ResetTimer()
	for r := 1; r <= b.N; r++ {
		probe.want.Store(uint32(roundOctet(r)))
		start := time.Now()
		writeChurnPods(b, dir, churnServices, r)
		end := waitRound(b, probe)
		st, pub := time.Unix(0, at.store.Load()), time.Unix(0, at.publish.Load())
		total = append(total, end.Sub(start))
		load, resolve, apply = append(load, st.Sub(start)), append(resolve, pub.Sub(st)), append(apply, end.Sub(pub))
		sync = append(sync, end.Sub(st))
		time.Sleep(time.Until(start.Add(churnPeriod)))
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/round")
	b.ReportMetric(float64(at.loads.Load()-loads0)/float64(b.N), "loads/round")
	b.ReportMetric(quantile(total, 0.5), "p50-ms")
	b.ReportMetric(quantile(total, 0.9), "p90-ms")
	b.ReportMetric(quantile(sync, 0.5), "sync-p50-ms")
	b.ReportMetric(quantile(sync, 0.9), "sync-p90-ms")
	b.ReportMetric(quantile(load, 0.5), "load-p50-ms")
	b.ReportMetric(quantile(resolve, 0.5), "resolve-p50-ms")
	b.ReportMetric(quantile(apply, 0.5), "apply-p50-ms")
}

// runComposition runs the whole composition over dir with dp as the
// node's dataplane until the returned stop is called.
func runComposition(tb testing.TB, dir string, dp dataplane.Syncer) (stop func(), at *stamps) {
	alloc, err := allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}})
	if err != nil {
		tb.Fatal(err)
	}
	cp, _ := controlplane.New(controlplane.Config{Allocator: alloc})
	agent, _ := nodeagent.New(nodeagent.Config{Node: "n1", Dataplane: dp})
	loader := manifests.NewLoader(manifests.Config{Dir: dir})
	var ml manifests.Latest
	var latest resolved.Latest
	at = &stamps{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		err := loader.Watch(ctx, func(set manifests.Set, errs []error) {
			at.store.Store(time.Now().UnixNano())
			at.loads.Add(1)
			ml.Store(set, errs)
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("Watch: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		_ = cp.Run(ctx, &Manifests{Latest: &ml}, stampedSink{&latest, &at.publish})
	}()
	go func() {
		defer wg.Done()
		_ = agent.Run(ctx, &latest)
	}()
	return func() { cancel(); wg.Wait() }, at
}

func waitRound(tb testing.TB, p *kernelProbe) time.Time {
	select {
	case t := <-p.done:
		return t
	case <-time.After(30 * time.Second):
		tb.Fatal("the kernel never held the round's endpoints")
		return time.Time{}
	}
}

// cpuTime returns the CPU time the process has used, user and system:
// what a round costs whatever else the machine runs (the latencies
// stretch with the machine's load; this does not).
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quantile returns the q-quantile of ds in milliseconds.
func quantile(ds []time.Duration, q float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[int(float64(len(s)-1)*q)].Microseconds()) / 1000
}
