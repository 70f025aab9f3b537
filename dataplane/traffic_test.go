package dataplane_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/internal/netnstest"
)

// These tests send real packets from client namespaces through the rules a
// dataplane programmed into a node namespace, and assert what the clients
// see: which backend answered, from which source the backend saw them, and
// how a refused or dropped request failed. Each test builds its own world
// (see internal/netnstest) and never runs in parallel with another: the
// netlink library must not be used from two connections at once.

// backendPort is where every backend pod listens (TCP and UDP).
const backendPort = 8080

// Proportions are checked over this many requests; the bounds below are
// about five standard deviations wide, so a correct dataplane fails them
// about once in a million runs, while a wrong split (uniform instead of
// weighted, a backend missing) lands far outside.
const samples = 300

var (
	clusterIPv4 = netip.MustParseAddr("10.96.0.10")
	clusterIPv6 = netip.MustParseAddr("fd00:10:96::10")
	lbIPv4      = netip.MustParseAddr("203.0.113.10")
)

// rig is a world with backends "web-1" … "web-n" and a dataplane on its
// node.
type rig struct {
	w    *netnstest.World
	web  []*netnstest.Pod
	opts dataplane.Options
	dp   dataplane.Syncer
}

func newRig(t testing.TB, backends int) *rig {
	t.Helper()
	w := netnstest.NewWorld(t)
	r := &rig{
		w: w,
		opts: dataplane.Options{
			NetNS:        w.Node.Path(),
			ClusterCIDRs: []netip.Prefix{w.PodCIDRv4, w.PodCIDRv6},
			ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16"), netip.MustParsePrefix("fd00:10:96::/112")},
		},
	}
	for i := 1; i <= backends; i++ {
		p := w.AddPod(t, fmt.Sprintf("web-%d", i))
		p.Serve(t, backendPort)
		r.web = append(r.web, p)
	}
	r.dp = r.start(t)
	return r
}

// start makes a new dataplane instance on the rig's node; t.Cleanup closes
// it (the namespace, and the rules with it, go with the world).
func (r *rig) start(t testing.TB) dataplane.Syncer {
	t.Helper()
	dp, err := dataplane.New(r.opts)
	if err != nil {
		t.Fatalf("dataplane.New: %v", err)
	}
	t.Cleanup(func() { _ = dp.Close() })
	return dp
}

func (r *rig) sync(t testing.TB, svcs ...dataplane.ServicePort) {
	t.Helper()
	if _, err := r.dp.Sync(context.Background(), svcs); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// ready returns endpoints for the pods in the family of like: what a node
// agent passes for pods that are ready.
func ready(like netip.Addr, pods ...*netnstest.Pod) []dataplane.Endpoint {
	eps := make([]dataplane.Endpoint, 0, len(pods))
	for _, p := range pods {
		eps = append(eps, dataplane.Endpoint{Addr: netip.AddrPortFrom(p.Addr(like), backendPort)})
	}
	return eps
}

// usable converts the endpoints a proxy on node in zone may use into the
// dataplane's, with endpoints.AppendUsable deciding which, as a node agent
// does: the dataplane itself programs whatever it is given.
func usable(eps []endpoints.Endpoint, node, zone string, policy endpoints.TrafficPolicy) []dataplane.Endpoint {
	var out []dataplane.Endpoint
	for _, e := range endpoints.AppendUsable(nil, eps, node, zone, policy) {
		out = append(out, dataplane.Endpoint{Addr: netip.AddrPortFrom(e.Address, backendPort)})
	}
	return out
}

// clusterIP is a service "default/<name>" with one ClusterIP on port 80.
func clusterIP(name string, proto dataplane.Protocol, ip netip.Addr, eps []dataplane.Endpoint) dataplane.ServicePort {
	return dataplane.ServicePort{
		Namespace:  "default",
		Name:       name,
		Protocol:   proto,
		ClusterIPs: []netip.Addr{ip},
		Port:       80,
		Endpoints:  eps,
	}
}

func network(p dataplane.Protocol) string {
	if p == dataplane.UDP {
		return "udp"
	}
	return "tcp"
}

// tally sends samples requests from ns to dst and fails the test on any
// error.
func tally(t *testing.T, ns *netnstest.NS, netw string, dst netip.AddrPort, n int) map[string]int {
	t.Helper()
	got, err := ns.Tally(context.Background(), netw, dst, n)
	if err != nil {
		t.Fatalf("after %v answers: %v", got, err)
	}
	return got
}

// checkSpread fails unless got holds exactly the backends of want, each
// with a count within [lo, hi].
func checkSpread(t *testing.T, got map[string]int, want map[string][2]int) {
	t.Helper()
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("backend %s answered %d times; want it never used (answers %v)", name, got[name], got)
		}
	}
	for name, b := range want {
		if c := got[name]; c < b[0] || c > b[1] {
			t.Errorf("backend %s answered %d times; want %d..%d (answers %v)", name, c, b[0], b[1], got)
		}
	}
}

// only fails unless every answer in got came from name.
func only(t *testing.T, got map[string]int, name string, n int) {
	t.Helper()
	if got[name] != n || len(got) != 1 {
		t.Errorf("answers %v; want all %d from %s", got, n, name)
	}
}

func TestTrafficClusterIP(t *testing.T) {
	r := newRig(t, 3)
	even := [2]int{60, 140} // expectation 100, sd 8.2
	weightedSvc := func(proto dataplane.Protocol) dataplane.ServicePort {
		eps := ready(clusterIPv4, r.web[0], r.web[1])
		eps[0].Weight = 1
		eps[1].Weight = 3
		s := clusterIP("weighted-"+proto.String(), proto, netip.MustParseAddr("10.96.0.11"), eps)
		s.Balancing = dataplane.Weighted
		return s
	}
	r.sync(t,
		clusterIP("web-tcp", dataplane.TCP, clusterIPv4, ready(clusterIPv4, r.web...)),
		clusterIP("web-udp", dataplane.UDP, clusterIPv4, ready(clusterIPv4, r.web...)),
		weightedSvc(dataplane.TCP),
		weightedSvc(dataplane.UDP),
	)
	for _, proto := range []dataplane.Protocol{dataplane.TCP, dataplane.UDP} {
		t.Run("random "+proto.String(), func(t *testing.T) {
			got := tally(t, r.w.Client.NS, network(proto), netip.AddrPortFrom(clusterIPv4, 80), samples)
			checkSpread(t, got, map[string][2]int{"web-1": even, "web-2": even, "web-3": even})
		})
		t.Run("weighted "+proto.String(), func(t *testing.T) {
			// Weights 1:3 over 400 requests: 100 and 300 expected (sd 8.7);
			// an even split (200:200) is far outside.
			got := tally(t, r.w.Client.NS, network(proto), netip.AddrPortFrom(netip.MustParseAddr("10.96.0.11"), 80), 400)
			checkSpread(t, got, map[string][2]int{"web-1": {55, 145}, "web-2": {255, 345}})
		})
	}
	t.Run("backend sees the pod's own address", func(t *testing.T) {
		reply, err := r.w.Client.NS.Ask(context.Background(), "tcp", netip.AddrPortFrom(clusterIPv4, 80))
		if err != nil {
			t.Fatal(err)
		}
		if reply.Source.Addr() != r.w.Client.IPv4 {
			t.Errorf("backend saw %v; want the client pod %v (no masquerade in-cluster)", reply.Source.Addr(), r.w.Client.IPv4)
		}
	})
	t.Run("off-cluster client masqueraded", func(t *testing.T) {
		// External traffic to a ClusterIP comes from outside ClusterCIDRs:
		// the backend must see the node, not the external address.
		reply, err := r.w.External.Ask(context.Background(), "tcp", netip.AddrPortFrom(clusterIPv4, 80))
		if err != nil {
			t.Fatal(err)
		}
		if !r.isGateway(reply) {
			t.Errorf("%s saw %v; want the node's address on its link (masqueraded)", reply.Backend, reply.Source.Addr())
		}
	})
	t.Run("unserved port refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := r.w.Client.NS.Ask(ctx, "tcp", netip.AddrPortFrom(clusterIPv4, 81))
		if !errors.Is(err, netnstest.ErrRefused) {
			t.Errorf("ClusterIP on a port it does not serve: error = %v; want ErrRefused", err)
		}
	})
}

// isGateway reports whether the backend that gave reply saw the node's
// address on that backend's link: the mark of a masqueraded request.
func (r *rig) isGateway(reply netnstest.Reply) bool {
	for _, p := range r.w.Pods() {
		if p.Name == reply.Backend {
			return reply.Source.Addr() == p.GatewayIPv4 || reply.Source.Addr() == p.GatewayIPv6
		}
	}
	return false
}

func TestTrafficIPv6ClusterIP(t *testing.T) {
	r := newRig(t, 3)
	r.sync(t,
		clusterIP("web6-tcp", dataplane.TCP, clusterIPv6, ready(clusterIPv6, r.web...)),
		clusterIP("web6-udp", dataplane.UDP, clusterIPv6, ready(clusterIPv6, r.web...)),
	)
	even := [2]int{60, 140}
	for _, netw := range []string{"tcp", "udp"} {
		t.Run(netw, func(t *testing.T) {
			got := tally(t, r.w.Client.NS, netw, netip.AddrPortFrom(clusterIPv6, 80), samples)
			checkSpread(t, got, map[string][2]int{"web-1": even, "web-2": even, "web-3": even})
		})
	}
	t.Run("dual-stack", func(t *testing.T) {
		s := clusterIP("dual", dataplane.TCP, clusterIPv4, append(ready(clusterIPv4, r.web[0]), ready(clusterIPv6, r.web[1])...))
		s.ClusterIPs = append(s.ClusterIPs, clusterIPv6)
		r.sync(t, s)
		only(t, tally(t, r.w.Client.NS, "tcp", netip.AddrPortFrom(clusterIPv4, 80), 20), "web-1", 20)
		only(t, tally(t, r.w.Client.NS, "tcp", netip.AddrPortFrom(clusterIPv6, 80), 20), "web-2", 20)
	})
}

func TestTrafficAffinity(t *testing.T) {
	r := newRig(t, 3)
	const timeout = 2 * time.Second
	s := clusterIP("sticky", dataplane.TCP, clusterIPv4, ready(clusterIPv4, r.web...))
	s.AffinityTimeout = timeout
	r.sync(t, s)

	// Twelve client addresses, each its own affinity key. Without
	// affinity, five requests from one source landing on one of three
	// backends has chance 1/81; after expiry, all twelve re-picking their
	// old backend has chance (1/3)^12 ≈ 2e-6.
	srcs := []netip.Addr{r.w.Client.IPv4}
	for len(srcs) < 12 {
		srcs = append(srcs, r.w.Client.AddIPv4(t))
	}
	dst := netip.AddrPortFrom(clusterIPv4, 80)
	first := make(map[netip.Addr]string)
	ask := func(src netip.Addr) string {
		t.Helper()
		reply, err := r.w.Client.NS.AskFrom(context.Background(), "tcp", src, dst)
		if err != nil {
			t.Fatal(err)
		}
		return reply.Backend
	}
	used := make(map[string]bool)
	for _, src := range srcs {
		first[src] = ask(src)
		used[first[src]] = true
		for range 4 {
			if got := ask(src); got != first[src] {
				t.Errorf("source %v: answered by %s after %s; want affinity to keep %s", src, got, first[src], first[src])
			}
		}
	}
	if len(used) < 2 {
		t.Errorf("12 sources all stuck to %v; want affinity per source, not one backend for all", used)
	}

	time.Sleep(timeout + 700*time.Millisecond)
	moved := 0
	for _, src := range srcs {
		if ask(src) != first[src] {
			moved++
		}
	}
	if moved == 0 {
		t.Errorf("after %v idle every source still reached its first backend; want affinity expired and re-picked", timeout)
	}
}

func TestTrafficNodePort(t *testing.T) {
	r := newRig(t, 2)
	// web-1 runs on this node, web-2 (still routed here) on another.
	eps := ready(clusterIPv4, r.web...)
	// Each service gets ClusterIP 10.96.0.2x for NodePort 3008x.
	nodePort := func(name string, port uint16, pol dataplane.TrafficPolicy, eps, local []dataplane.Endpoint) dataplane.ServicePort {
		s := clusterIP(name, dataplane.TCP, netip.AddrFrom4([4]byte{10, 96, 0, byte(20 + port%10)}), eps)
		s.NodePort = port
		s.ExternalPolicy = pol
		s.LocalEndpoints = local
		return s
	}
	nonLocal := ready(clusterIPv4, r.web[1])
	eps6 := ready(clusterIPv6, r.web...)
	dual := nodePort("dual-local", 30083, dataplane.PolicyLocal, append(eps6, eps...), []dataplane.Endpoint{eps6[0], eps[0]})
	dual.ClusterIPs = append(dual.ClusterIPs, clusterIPv6)
	r.sync(t,
		nodePort("cluster", 30080, dataplane.PolicyCluster, eps, nil),
		nodePort("local", 30081, dataplane.PolicyLocal, eps, eps[:1]),
		nodePort("local-none", 30082, dataplane.PolicyLocal, nonLocal, nil),
		dual,
	)
	ctx := context.Background()

	t.Run("cluster policy masquerades", func(t *testing.T) {
		seen := make(map[string]int)
		for range 60 {
			reply, err := r.w.External.Ask(ctx, "tcp", netip.AddrPortFrom(r.w.NodeIPv4, 30080))
			if err != nil {
				t.Fatal(err)
			}
			seen[reply.Backend]++
			if !r.isGateway(reply) {
				t.Fatalf("%s saw %v; want the node's address (masqueraded)", reply.Backend, reply.Source.Addr())
			}
		}
		// 60 requests over two backends: each below 10 has chance ~1e-7.
		checkSpread(t, seen, map[string][2]int{"web-1": {10, 50}, "web-2": {10, 50}})
	})
	for _, tt := range []struct {
		name       string
		node, from netip.Addr
		port       uint16
	}{
		{"local policy keeps the source", r.w.NodeIPv4, r.w.ExternalIPv4[0], 30081},
		{"local policy keeps the source over ipv6", r.w.NodeIPv6, r.w.ExternalIPv6[0], 30083},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 30 {
				reply, err := r.w.External.Ask(ctx, "tcp", netip.AddrPortFrom(tt.node, tt.port))
				if err != nil {
					t.Fatal(err)
				}
				if reply.Backend != "web-1" || reply.Source.Addr() != tt.from {
					t.Fatalf("answer %s seeing %v; want the local web-1 seeing the client %v", reply.Backend, reply.Source.Addr(), tt.from)
				}
			}
		})
	}
	t.Run("local policy without local endpoint drops", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := r.w.External.Ask(ctx, "tcp", netip.AddrPortFrom(r.w.NodeIPv4, 30082))
		if !errors.Is(err, netnstest.ErrTimeout) {
			t.Errorf("Local policy, no local endpoint: error = %v; want ErrTimeout (dropped)", err)
		}
	})
	t.Run("in-cluster client of a local service uses every endpoint", func(t *testing.T) {
		// externalTrafficPolicy does not restrict traffic to the ClusterIP
		// (10.96.0.21 is the "local" service's).
		got := tally(t, r.w.Client.NS, "tcp", netip.AddrPortFrom(netip.MustParseAddr("10.96.0.21"), 80), 60)
		checkSpread(t, got, map[string][2]int{"web-1": {10, 50}, "web-2": {10, 50}})
	})
}

func TestTrafficInternalPolicyLocal(t *testing.T) {
	r := newRig(t, 2)
	eps := ready(clusterIPv4, r.web...)
	s := clusterIP("itp-local", dataplane.TCP, clusterIPv4, eps)
	s.InternalPolicy = dataplane.PolicyLocal
	s.LocalEndpoints = eps[1:]
	r.sync(t, s)
	only(t, tally(t, r.w.Client.NS, "tcp", netip.AddrPortFrom(clusterIPv4, 80), 30), "web-2", 30)
}

func TestTrafficLoadBalancerSourceRanges(t *testing.T) {
	r := newRig(t, 1)
	allowed, other := r.w.ExternalIPv4[0], r.w.ExternalIPv4[1]
	s := clusterIP("lb", dataplane.TCP, clusterIPv4, ready(clusterIPv4, r.web...))
	s.NodePort = 30090
	s.LoadBalancerIPs = []netip.Addr{lbIPv4}
	s.LoadBalancerSourceRanges = []netip.Prefix{netip.PrefixFrom(allowed, 32)}
	r.sync(t, s)
	dst := netip.AddrPortFrom(lbIPv4, 80)

	reply, err := r.w.External.AskFrom(context.Background(), "tcp", allowed, dst)
	if err != nil {
		t.Fatalf("allowed client %v: %v", allowed, err)
	}
	if reply.Backend != "web-1" {
		t.Errorf("allowed client answered by %s; want web-1", reply.Backend)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := r.w.External.AskFrom(ctx, "tcp", other, dst); !errors.Is(err, netnstest.ErrTimeout) {
		t.Errorf("client %v outside the source ranges: error = %v; want ErrTimeout (dropped)", other, err)
	}
}

func TestTrafficNoEndpoints(t *testing.T) {
	r := newRig(t, 0)
	// Without rules, each of these addresses would black-hole (the node
	// forwards them upstream, where they are dropped): a refusal can only
	// come from the dataplane. NodePorts are left out: the node's own
	// stack refuses a closed port anyway.
	empty := clusterIP("empty-tcp", dataplane.TCP, clusterIPv4, nil)
	empty.LoadBalancerIPs = []netip.Addr{lbIPv4}
	empty.ExternalIPs = []netip.Addr{netip.MustParseAddr("198.51.100.7")}
	r.sync(t, empty, clusterIP("empty-udp", dataplane.UDP, clusterIPv4, nil))
	tests := []struct {
		name string
		from *netnstest.NS
		netw string
		dst  netip.AddrPort
	}{
		{"clusterIP tcp", r.w.Client.NS, "tcp", netip.AddrPortFrom(clusterIPv4, 80)},
		{"clusterIP udp", r.w.Client.NS, "udp", netip.AddrPortFrom(clusterIPv4, 80)},
		{"loadBalancer tcp", r.w.External, "tcp", netip.AddrPortFrom(lbIPv4, 80)},
		{"externalIP tcp", r.w.External, "tcp", netip.MustParseAddrPort("198.51.100.7:80")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A refusal arrives in a round trip; a black hole would run
			// into this deadline and show as ErrTimeout.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := tt.from.Ask(ctx, tt.netw, tt.dst)
			if !errors.Is(err, netnstest.ErrRefused) {
				t.Errorf("Ask(%s %v) error = %v; want ErrRefused", tt.netw, tt.dst, err)
			}
		})
	}
}

func TestTrafficHairpin(t *testing.T) {
	r := newRig(t, 1)
	web := r.web[0]
	r.sync(t, clusterIP("self", dataplane.TCP, clusterIPv4, ready(clusterIPv4, web)))
	reply, err := web.NS.Ask(context.Background(), "tcp", netip.AddrPortFrom(clusterIPv4, 80))
	if err != nil {
		t.Fatalf("backend reaching itself through its ClusterIP: %v", err)
	}
	// Without masquerading, the backend would answer itself directly and
	// the connection would never complete.
	if reply.Backend != web.Name || reply.Source.Addr() != web.GatewayIPv4 {
		t.Errorf("answer %s seeing %v; want %s seeing the node %v", reply.Backend, reply.Source.Addr(), web.Name, web.GatewayIPv4)
	}
}

func TestTrafficEndpointRemoved(t *testing.T) {
	r := newRig(t, 3)
	dst := netip.AddrPortFrom(clusterIPv4, 80)
	r.sync(t, clusterIP("web", dataplane.TCP, clusterIPv4, ready(clusterIPv4, r.web...)))
	even := [2]int{20, 80} // 150 over three: 50 expected, sd 5.8
	checkSpread(t, tally(t, r.w.Client.NS, "tcp", dst, 150), map[string][2]int{"web-1": even, "web-2": even, "web-3": even})

	r.sync(t, clusterIP("web", dataplane.TCP, clusterIPv4, ready(clusterIPv4, r.web[0], r.web[1])))
	checkSpread(t, tally(t, r.w.Client.NS, "tcp", dst, 100), map[string][2]int{"web-1": {25, 75}, "web-2": {25, 75}})
}

// TestTrafficUDPEndpointRemoved: a UDP client that keeps its socket keeps
// its conntrack entry; once its endpoint is removed, the next datagram must
// reach a remaining one, not the removed pod (which still answers here).
func TestTrafficUDPEndpointRemoved(t *testing.T) {
	r := newRig(t, 2)
	dst := netip.AddrPortFrom(clusterIPv4, 80)
	r.sync(t, clusterIP("dns", dataplane.UDP, clusterIPv4, ready(clusterIPv4, r.web...)))
	session := r.w.Client.NS.DialUDP(t, dst)
	ask := func() string {
		t.Helper()
		reply, err := session.Ask(context.Background())
		if err != nil {
			t.Fatalf("UDP answer: %v", err)
		}
		return reply.Backend
	}
	first := ask()
	// The same flow stays with its endpoint: the precondition that makes
	// the rest of the test mean something.
	for range 5 {
		if got := ask(); got != first {
			t.Fatalf("one UDP flow answered by %s, then %s; want one endpoint", first, got)
		}
	}
	var keep *netnstest.Pod
	for _, p := range r.web {
		if p.Name != first {
			keep = p
		}
	}
	r.sync(t, clusterIP("dns", dataplane.UDP, clusterIPv4, ready(clusterIPv4, keep)))
	if got := ask(); got != keep.Name {
		t.Errorf("after removing %s, the same UDP socket is answered by %s; want %s", first, got, keep.Name)
	}
}

// TestTrafficTerminatingFallback: Kubernetes uses serving-and-terminating
// endpoints only when no endpoint is ready (KEP-1669, as in Kubernetes
// 1.37). The rule lives in endpoints.AppendUsable; this test shows that what
// it picks is exactly what carries traffic.
func TestTrafficTerminatingFallback(t *testing.T) {
	r := newRig(t, 3)
	dst := netip.AddrPortFrom(clusterIPv4, 80)
	eps := make([]endpoints.Endpoint, len(r.web))
	for i, p := range r.web {
		eps[i] = endpoints.Endpoint{Address: p.IPv4, Conditions: endpoints.Conditions{Ready: true, Serving: true}}
	}
	eps[1].Conditions = endpoints.Conditions{Serving: true, Terminating: true}
	eps[2].Conditions = endpoints.Conditions{Terminating: true}

	r.sync(t, clusterIP("web", dataplane.TCP, clusterIPv4, usable(eps, "", "", endpoints.PolicyCluster)))
	t.Run("ready preferred", func(t *testing.T) {
		only(t, tally(t, r.w.Client.NS, "tcp", dst, 40), "web-1", 40)
	})

	r.sync(t, clusterIP("web", dataplane.TCP, clusterIPv4, usable(eps[1:], "", "", endpoints.PolicyCluster)))
	t.Run("serving terminating as fallback", func(t *testing.T) {
		only(t, tally(t, r.w.Client.NS, "tcp", dst, 40), "web-2", 40)
	})

	r.sync(t, clusterIP("web", dataplane.TCP, clusterIPv4, usable(eps[2:], "", "", endpoints.PolicyCluster)))
	t.Run("not serving never used", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := r.w.Client.NS.Ask(ctx, "tcp", dst); !errors.Is(err, netnstest.ErrRefused) {
			t.Errorf("only a non-serving endpoint: error = %v; want ErrRefused", err)
		}
	})
}

func TestTrafficRestart(t *testing.T) {
	r := newRig(t, 2)
	dst := netip.AddrPortFrom(clusterIPv4, 80)
	svc := clusterIP("web", dataplane.TCP, clusterIPv4, ready(clusterIPv4, r.web...))
	r.sync(t, svc)

	// A client keeps asking while the old instance goes away and a new
	// one adopts the namespace; not one request may fail.
	ctx, stop := context.WithCancel(context.Background())
	var (
		wg    sync.WaitGroup
		asked int     // written by the client goroutine, read after wg.Wait
		fails []error // likewise
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			asked++
			if _, err := r.w.Client.NS.Ask(context.Background(), "tcp", dst); err != nil {
				fails = append(fails, err)
			}
			time.Sleep(time.Millisecond)
		}
	}()

	if err := r.dp.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // traffic between the two instances
	r.dp = r.start(t)
	r.sync(t, svc)
	time.Sleep(50 * time.Millisecond) // traffic after the adoption
	stop()
	wg.Wait()
	if len(fails) > 0 {
		t.Fatalf("%d of %d requests failed across the restart, first: %v", len(fails), asked, fails[0])
	}
	if asked < 10 {
		t.Fatalf("only %d requests across the restart; want a steady stream", asked)
	}

	// The new instance owns the rules: a change it makes is what traffic
	// sees.
	r.sync(t, clusterIP("web", dataplane.TCP, clusterIPv4, ready(clusterIPv4, r.web[1])))
	only(t, tally(t, r.w.Client.NS, "tcp", dst, 20), "web-2", 20)
}

// TestTrafficBadServiceIsolated (issue 13): one service the kernel would
// refuse (an external IP 0.0.0.0, or another service's ClusterIP and port)
// among good ones is left out and reported; the good ones carry traffic,
// also after a later change to them.
func TestTrafficBadServiceIsolated(t *testing.T) {
	r := newRig(t, 2)
	ctx := context.Background()
	good := clusterIP("good", dataplane.TCP, clusterIPv4, ready(clusterIPv4, r.web[0]))
	other := clusterIP("other", dataplane.UDP, netip.MustParseAddr("10.96.0.12"), ready(clusterIPv4, r.web[1]))
	zero := clusterIP("zero", dataplane.TCP, netip.MustParseAddr("10.96.0.13"), ready(clusterIPv4, r.web...))
	zero.ExternalIPs = []netip.Addr{netip.IPv4Unspecified()}
	thief := clusterIP("thief", dataplane.TCP, netip.MustParseAddr("10.96.0.14"), ready(clusterIPv4, r.web[1]))
	thief.ExternalIPs = []netip.Addr{clusterIPv4}

	_, err := r.dp.Sync(ctx, []dataplane.ServicePort{zero, good, thief, other})
	var se *dataplane.SyncError
	if !errors.As(err, &se) || len(se.Refused) != 2 || se.Refused[0].Key != zero.Key() || se.Refused[1].Key != thief.Key() {
		t.Fatalf("Sync = %v; want a *SyncError refusing zero and thief", err)
	}
	only(t, tally(t, r.w.Client.NS, "tcp", netip.AddrPortFrom(clusterIPv4, 80), 20), "web-1", 20)
	only(t, tally(t, r.w.Client.NS, "udp", netip.AddrPortFrom(netip.MustParseAddr("10.96.0.12"), 80), 20), "web-2", 20)
	if _, err := r.w.Client.NS.Ask(ctx, "tcp", netip.AddrPortFrom(netip.MustParseAddr("10.96.0.14"), 80)); err == nil {
		t.Error("the refused thief answers on its own ClusterIP; want it left out")
	}

	// A later change to a good service goes through although the bad ones
	// are still in the input.
	good.Endpoints = ready(clusterIPv4, r.web[1])
	if _, err := r.dp.Sync(ctx, []dataplane.ServicePort{zero, good, thief, other}); !errors.As(err, &se) || len(se.Refused) != 2 {
		t.Fatalf("second Sync = %v; want the same two refused", err)
	}
	only(t, tally(t, r.w.Client.NS, "tcp", netip.AddrPortFrom(clusterIPv4, 80), 20), "web-2", 20)
}

// TestTrafficRepairAfterTableDeleted (issue 15): someone deletes our table
// while a client keeps asking; Watch notices and puts it back, and the
// client is answered again.
func TestTrafficRepairAfterTableDeleted(t *testing.T) {
	r := newRig(t, 2)
	dst := netip.AddrPortFrom(clusterIPv4, 80)
	r.sync(t, clusterIP("web", dataplane.TCP, clusterIPv4, ready(clusterIPv4, r.web...)))
	dp := r.dp.(*dataplane.Dataplane)
	ctx, cancel := context.WithCancel(context.Background())
	reps := make(chan dataplane.Repair, 64)
	errc := make(chan error, 1)
	go func() { errc <- dp.Watch(ctx, func(rp dataplane.Repair) { reps <- rp }) }()
	defer func() {
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v; want context.Canceled", err)
		}
	}()
	nft := func(args ...string) {
		t.Helper()
		if out, err := r.w.Node.Exec("nft", args...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	// Watch subscribes in its own goroutine: wait until it repairs a
	// harmless foreign rule before the real damage.
	for primed := false; !primed; {
		nft("add", "rule", "inet", "svcnet", "services", "counter")
		select {
		case <-reps:
			primed = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	tally(t, r.w.Client.NS, "tcp", dst, 5)

	// A client keeps asking while the table is deleted and repaired.
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		failed := 0
		for {
			select {
			case <-stop:
				done <- failed
				return
			default:
			}
			if _, err := r.w.Client.NS.Ask(context.Background(), "tcp", dst); err != nil {
				failed++
			}
		}
	}()
	nft("delete", "table", "inet", "svcnet")
	var rp dataplane.Repair
	select {
	case rp = <-reps:
	case <-time.After(10 * time.Second):
		t.Fatal("no repair after the table was deleted")
	}
	close(stop)
	t.Logf("repair %q in %v; %d requests failed meanwhile", rp.Reason, rp.Stats.Duration, <-done)
	if rp.Err != nil {
		t.Fatalf("repair failed: %v", rp.Err)
	}
	got := tally(t, r.w.Client.NS, "tcp", dst, 20)
	if got["web-1"]+got["web-2"] != 20 {
		t.Errorf("after the repair: answers %v; want all 20 from web-1 and web-2", got)
	}
}

// TestTrafficTopologyZone (issue 15): with trafficDistribution
// PreferSameZone hints, a client on a node in zone A reaches only zone-A
// endpoints while any is ready, then falls back to the others (Kubernetes
// 1.37 topology rules, decided by endpoints.AppendUsable as a node agent
// does; the dataplane programs what it is given).
func TestTrafficTopologyZone(t *testing.T) {
	r := newRig(t, 3)
	dst := netip.AddrPortFrom(clusterIPv4, 80)
	zones := []string{"zone-a", "zone-b", "zone-a"}
	eps := make([]endpoints.Endpoint, len(r.web))
	for i, p := range r.web {
		eps[i] = endpoints.Endpoint{Address: p.IPv4, Zone: zones[i], NodeName: fmt.Sprintf("node-%d", i),
			Conditions: endpoints.Conditions{Ready: true, Serving: true},
			Hints:      endpoints.Hints{ForZone: zones[i]}}
	}
	sync := func() {
		t.Helper()
		r.sync(t, clusterIP("web", dataplane.TCP, clusterIPv4, usable(eps, "node-9", "zone-a", endpoints.PolicyCluster)))
	}
	sync()
	got := tally(t, r.w.Client.NS, "tcp", dst, 60)
	checkSpread(t, got, map[string][2]int{"web-1": {10, 50}, "web-3": {10, 50}})

	// The zone-A endpoints stop being ready: the rest of the cluster serves.
	eps[0].Conditions, eps[2].Conditions = endpoints.Conditions{}, endpoints.Conditions{}
	sync()
	only(t, tally(t, r.w.Client.NS, "tcp", dst, 20), "web-2", 20)
}
