package kubeproxy

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/internal/netnstest"
	discovery "k8s.io/api/discovery/v1"
)

// The scales issue 15 names: services × endpoints per service.
var scales = []struct{ n, eps int }{{1000, 10}, {10000, 10}, {45000, 1}}

// proxy is one of the two contenders, programming one fresh namespace.
// fullSync and change run t's timer around exactly what they time (t is
// a meter, or untimed).
type proxy interface {
	// load hands over every service; nothing is programmed yet.
	load(svcs []service)
	// fullSync programs everything loaded.
	fullSync(t timer) error
	// change replaces svcs[i]'s slice with cur and programs that change.
	change(t timer, svcs []service, i int, cur *discovery.EndpointSlice) error
}

// timer brackets what is measured.
type timer interface {
	StartTimer()
	StopTimer()
}

// untimed is a timer for work done before what a benchmark measures.
type untimed struct{}

func (untimed) StartTimer() {}
func (untimed) StopTimer()  {}

// clock measures the time between StartTimer and StopTimer, as
// testing.B's timer does; counter counts the allocations there. A meter
// does both, for a full sync; a change is timed by its clock and its
// allocations are counted on an untimed change of the same kind: reading
// them (runtime.ReadMemStats) stops the world and empties every P's
// allocation cache, which the next allocations refill, and a change of
// tens of microseconds timed right after that read pays for it.
// The benchmark's own timer keeps running over whole iterations, fresh
// namespaces and full syncs included, so that b.Loop chooses how many
// iterations to run from what an iteration really costs: otherwise a
// 1 ms change after a 1 s full sync would be repeated a thousand times
// to fill one second. The figures reported replace its own.
type clock struct {
	start time.Time
	times []time.Duration
}

func (c *clock) StartTimer() { c.start = time.Now() }

func (c *clock) StopTimer() { c.times = append(c.times, time.Since(c.start)) }

type counter struct {
	ops                     int
	bytes, allocs           uint64
	startAllocs, startBytes uint64
}

func (c *counter) StartTimer() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c.startAllocs, c.startBytes = ms.Mallocs, ms.TotalAlloc
}

func (c *counter) StopTimer() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c.allocs += ms.Mallocs - c.startAllocs
	c.bytes += ms.TotalAlloc - c.startBytes
	c.ops++
}

type meter struct {
	clock
	counter
}

func (m *meter) StartTimer() {
	m.counter.StartTimer()
	m.clock.StartTimer()
}

func (m *meter) StopTimer() {
	m.clock.StopTimer()
	m.counter.StopTimer()
}

func (m *meter) report(b *testing.B) {
	n := len(m.times)
	if n == 0 || m.counter.ops == 0 {
		return
	}
	var sum time.Duration
	for _, t := range m.times {
		sum += t
	}
	b.ReportMetric(float64(sum)/float64(n), "ns/op")
	slices.Sort(m.times)
	b.ReportMetric(float64(m.times[n/2]+m.times[(n-1)/2])/2, "median-ns/op")
	b.ReportMetric(float64(m.bytes)/float64(m.counter.ops), "B/op")
	b.ReportMetric(float64(m.allocs)/float64(m.counter.ops), "allocs/op")
}

type contender struct {
	name string
	new  func(b *testing.B, ns *netnstest.NS) proxy
}

var contenders = []contender{
	{"kube-proxy", func(b *testing.B, ns *netnstest.NS) proxy { return &kubeProxyB{newKubeProxy(b, ns)} }},
	{"svcnet", func(b *testing.B, ns *netnstest.NS) proxy { return newSvcnet(b, ns) }},
}

// nodeNS makes a fresh namespace standing for a node: loopback, and a link
// holding the node's primary address (where NodePorts answer); a veth pair
// with both ends inside, since the kernel may lack the dummy driver.
// It is deleted when b ends, also when b fails.
func nodeNS(b testing.TB) *netnstest.NS {
	b.Helper()
	ns := netnstest.NewNS(b, "kpbench")
	ns.IP(b, "link", "add", "node0", "type", "veth", "peer", "name", "node1")
	ns.IP(b, "addr", "add", nodeIP.String()+"/24", "dev", "node0")
	ns.IP(b, "link", "set", "node0", "up")
	ns.IP(b, "link", "set", "node1", "up")
	return ns
}

// each runs fn as a sub-benchmark per scale and contender, named
// services=N/endpoints=E/contender.
func each(b *testing.B, fn func(b *testing.B, c contender, n, eps int)) {
	netnstest.Require(b)
	for _, s := range scales {
		for _, c := range contenders {
			b.Run(fmt.Sprintf("services=%d/endpoints=%d/%s", s.n, s.eps, c.name), func(b *testing.B) {
				fn(b, c, s.n, s.eps)
			})
		}
	}
}

// warmUpChanges is how many changes BenchmarkChange makes before it
// measures, so that a contender whose sync at 10,000 services takes
// seconds (one timed iteration fills the benchmark time) is not timed on
// the first change after its full sync, which BenchmarkFirstChange times.
const warmUpChanges = 3

// countedChanges is how many changes after its timed ones BenchmarkChange
// counts the allocations of.
const countedChanges = 3

// BenchmarkFullSync times the first sync of every service into a fresh
// namespace by a freshly made proxy (one per iteration): kube-proxy's
// start-up sync against dataplane.Sync.
func BenchmarkFullSync(b *testing.B) {
	each(b, func(b *testing.B, c contender, n, eps int) {
		svcs := genServices(n, eps)
		var m meter
		for b.Loop() {
			p := c.new(b, nodeNS(b))
			p.load(svcs)
			runtime.GC()
			if err := p.fullSync(&m); err != nil {
				b.Fatal(err)
			}
		}
		m.report(b)
	})
}

// BenchmarkFirstChange times the first change after a full sync, each
// iteration in a fresh namespace: one endpoint of the middle service
// replaced by a new pod, programmed. Its allocations are counted on the
// second change, of the next service.
func BenchmarkFirstChange(b *testing.B) {
	each(b, func(b *testing.B, c contender, n, eps int) {
		svcs := genServices(n, eps)
		var m meter
		k := 0
		for b.Loop() {
			p := c.new(b, nodeNS(b))
			p.load(svcs)
			if err := p.fullSync(untimed{}); err != nil {
				b.Fatal(err)
			}
			k++
			cur := withEndpointReplaced(svcs[n/2].slice, k)
			runtime.GC()
			if err := p.change(&m.clock, svcs, n/2, cur); err != nil {
				b.Fatal(err)
			}
			next := withEndpointReplaced(svcs[n/2+1].slice, k)
			if err := p.change(&m.counter, svcs, n/2+1, next); err != nil {
				b.Fatal(err)
			}
		}
		m.report(b)
	})
}

// BenchmarkChange is the steady state: after one full sync and
// warmUpChanges untimed changes, every iteration replaces one endpoint of
// the next service and programs it; countedChanges more are counted for
// allocations.
func BenchmarkChange(b *testing.B) {
	each(b, func(b *testing.B, c contender, n, eps int) {
		svcs := genServices(n, eps)
		p := c.new(b, nodeNS(b))
		p.load(svcs)
		if err := p.fullSync(untimed{}); err != nil {
			b.Fatal(err)
		}
		i := 0
		for ; i < warmUpChanges; i++ {
			if err := p.change(untimed{}, svcs, i%n, withEndpointReplaced(svcs[i%n].slice, i)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		var m meter
		for b.Loop() {
			i++
			cur := withEndpointReplaced(svcs[i%n].slice, i)
			if err := p.change(&m.clock, svcs, i%n, cur); err != nil {
				b.Fatal(err)
			}
		}
		for range countedChanges {
			i++
			if err := p.change(&m.counter, svcs, i%n, withEndpointReplaced(svcs[i%n].slice, i)); err != nil {
				b.Fatal(err)
			}
		}
		m.report(b)
	})
}

// kubeProxyB times kubeProxy's operations. The timer starts and stops on
// the thread inside the namespace, so that entering it is not counted.
type kubeProxyB struct{ *kubeProxy }

func (k *kubeProxyB) fullSync(t timer) error {
	return k.kubeProxy.fullSync(t.StartTimer, t.StopTimer)
}

func (k *kubeProxyB) change(t timer, svcs []service, i int, cur *discovery.EndpointSlice) error {
	old := svcs[i].slice
	svcs[i].slice = cur
	return k.kubeProxy.change(old, cur, t.StartTimer, t.StopTimer)
}

// svcnet is the dataplane as a node agent drives it: Sync with every
// service port at start, Update with the one that changed.
type svcnet struct {
	dp   *dataplane.Dataplane
	svcs []dataplane.ServicePort
}

func newSvcnet(b testing.TB, ns *netnstest.NS) *svcnet {
	b.Helper()
	dp, err := dataplane.New(dataplane.Options{NetNS: ns.Path(),
		NodeAddresses: nodeAddrs, ClusterCIDRs: clusterCIDRs, ServiceCIDRs: serviceCIDRs})
	if err != nil {
		b.Fatalf("dataplane.New: %v", err)
	}
	b.Cleanup(func() { _ = dp.Close() })
	return &svcnet{dp: dp}
}

func (s *svcnet) load(svcs []service) { s.svcs = servicePorts(svcs) }

func (s *svcnet) fullSync(t timer) error {
	t.StartTimer()
	_, err := s.dp.Sync(context.Background(), s.svcs)
	t.StopTimer()
	return err
}

// change converts the changed slice into its service port (the node
// agent's share, counted as kube-proxy's handler is) and sends it.
func (s *svcnet) change(t timer, svcs []service, i int, cur *discovery.EndpointSlice) error {
	svcs[i].slice = cur
	t.StartTimer()
	sp := servicePort(svcs[i])
	_, err := s.dp.Update(context.Background(), []dataplane.ServicePort{sp}, nil)
	t.StopTimer()
	return err
}
