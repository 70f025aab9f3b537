package etcd

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/nodeagent"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// programmed is one kernel batch a node's dataplane applied: when it returned,
// and the Services it carried (none listed for a full Sync).
type programmed struct {
	at    time.Time
	full  bool
	names []string
}

// timedDataplane is a real dataplane that reports every batch it applied.
type timedDataplane struct {
	*dataplane.Dataplane
	done chan programmed
}

func (t *timedDataplane) Sync(ctx context.Context, svcs []dataplane.ServicePort) (dataplane.Stats, error) {
	st, err := t.Dataplane.Sync(ctx, svcs)
	if err == nil {
		t.done <- programmed{at: time.Now(), full: true}
	}
	return st, err
}

func (t *timedDataplane) Update(ctx context.Context, upsert []dataplane.ServicePort, remove []dataplane.Key) (dataplane.Stats, error) {
	st, err := t.Dataplane.Update(ctx, upsert, remove)
	if err == nil {
		p := programmed{at: time.Now()}
		for _, sp := range upsert {
			p.names = append(p.names, sp.Name)
		}
		t.done <- p
	}
	return st, err
}

// startKernelNode starts a watching node in a namespace of its own: a
// ServiceDelivery following etcd, a node agent, a real dataplane.
func startKernelNode(b *testing.B, ctx context.Context, wg *sync.WaitGroup, cli *clientv3.Client, i int) *timedDataplane {
	ns := netnstest.NewNS(b, fmt.Sprintf("etcd%d", i))
	dp, err := dataplane.New(dataplane.Options{NetNS: ns.Path()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dp.Close() })
	td := &timedDataplane{Dataplane: dp, done: make(chan programmed, 1<<12)}
	agent, err := nodeagent.New(nodeagent.Config{Node: fmt.Sprintf("node-%d", i), Dataplane: td})
	if err != nil {
		b.Fatal(err)
	}
	d := NewServiceDelivery(cli, "/bench/services/")
	wg.Add(2)
	go func() { defer wg.Done(); d.Run(ctx) }()
	go func() { defer wg.Done(); agent.Run(ctx, d) }()
	return td
}

// await returns when the node has programmed a batch that matches.
func (t *timedDataplane) await(b *testing.B, match func(programmed) bool) time.Time {
	deadline := time.After(60 * time.Second)
	for {
		select {
		case p := <-t.done:
			if match(p) {
				return p.at
			}
		case <-deadline:
			b.Fatal("a node programmed nothing matching in 60s")
		}
	}
}

// BenchmarkPropagationKernel: with 10,000 Services × 10 endpoints published on a
// 3-member fsync cluster, one endpoint change → programmed in the kernel of each
// of 3 watching nodes, each in its own network namespace (issue 14: p99 ≤ 100 ms).
// It also reports one node's cold start, from nothing to the whole state in its
// kernel (≤ 2 s), and the memory of a watching node run as a child process
// (VmRSS after the cold start and VmHWM, its peak: ≤ 200 MiB), with Go's default
// GC settings and with GOMEMLIMIT=150MiB, which a node program can set to trade
// GC work for a lower peak (the live heap is about half the default peak).
func BenchmarkPropagationKernel(b *testing.B) {
	netnstest.Require(b)
	c := etcdtest.Start(b, etcdtest.Config{Members: 3, Fsync: true})
	pub := NewServicePublisher(c.TestClient(b), "/bench/services/", Retry{})
	st := publishMany(b, pub, 10000)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	full := func(p programmed) bool { return p.full }

	t0 := time.Now()
	nodes := []*timedDataplane{startKernelNode(b, ctx, &wg, c.TestClient(b), 0)}
	cold := nodes[0].await(b, full).Sub(t0)
	rss, hwm := childNodeMemory(b, c, "")
	rssLimited, hwmLimited := childNodeMemory(b, c, "150MiB")
	for i := 1; i < 3; i++ {
		nodes = append(nodes, startKernelNode(b, ctx, &wg, c.TestClient(b), i))
		nodes[i].await(b, full)
	}
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := testService(st.Services[i%10000].Name, i%10000, 10)
		s.Slices[0].Endpoints[0].Conditions.Ready = i%2 == 1
		s.Revision = uint64(i + 2)
		t1 := time.Now()
		if _, err := pub.p.Put(ctx, s); err != nil {
			b.Fatal(err)
		}
		for _, n := range nodes {
			at := n.await(b, func(p programmed) bool { return slices.Contains(p.names, s.Name) })
			lat = append(lat, at.Sub(t1))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(cold.Milliseconds()), "cold-start-ms")
	b.ReportMetric(rss, "node-RSS-MiB")
	b.ReportMetric(hwm, "node-HWM-MiB")
	b.ReportMetric(rssLimited, "node-RSS-MiB-GOMEMLIMIT150")
	b.ReportMetric(hwmLimited, "node-HWM-MiB-GOMEMLIMIT150")
}

// childNodeEnv names the environment variable that makes the test binary run as
// a watching node (see TestMain): etcd endpoints, a comma-separated list, then a
// space and the namespace to program.
const childNodeEnv = "SVCNET_ETCD_CHILD_NODE"

// childNodeMemory runs a watching node in a child process, in a namespace of its
// own, until it has the whole state in its kernel, and returns its VmRSS and
// VmHWM then, in MiB. A non-empty limit is the child's GOMEMLIMIT.
func childNodeMemory(b *testing.B, c *etcdtest.Cluster, limit string) (rss, hwm float64) {
	ns := netnstest.NewNS(b, "etcdchild"+limit)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childNodeEnv+"="+strings.Join(c.Endpoints(), ",")+" "+ns.Path())
	if limit != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+limit)
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if _, serr := fmt.Sscanf(line, "rss %f hwm %f", &rss, &hwm); err != nil || serr != nil {
		b.Fatalf("child node: %q, %v, %v", line, err, serr)
	}
	return rss, hwm
}
