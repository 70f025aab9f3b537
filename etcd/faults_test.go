package etcd

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var faultPrefix = netip.MustParsePrefix("10.96.0.0/16")

// load keeps allocators busy until stopped and keeps the ledger of what they got.
type load struct {
	t       *testing.T
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	ok      atomic.Int64 // successful allocations
	failed  atomic.Int64 // calls that failed with ErrUnavailable or were cut short by stop
	ledger  *contention[netip.Addr]
	allocs  []*IPAllocator
	workers int
}

// startLoad runs one allocating worker per client, each on its own allocator.
func startLoad(t *testing.T, key string, clients ...*clientv3.Client) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{t: t, cancel: cancel, ledger: &contention[netip.Addr]{holder: map[netip.Addr]int{}}}
	for w, cli := range clients {
		a, err := NewIPAllocator(ctx, cli, key, faultPrefix, Config{})
		if err != nil {
			t.Fatal(err)
		}
		l.allocs = append(l.allocs, a)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				v, err := a.AllocateNext(ctx)
				switch {
				case err == nil:
					l.ledger.take(t, v, w)
					l.ok.Add(1)
				case ctx.Err() != nil, errors.Is(err, ErrUnavailable):
					l.failed.Add(1)
				default:
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if i%4 == 3 && err == nil {
					l.ledger.drop(v)
					if err := a.Release(ctx, v); err != nil {
						l.failed.Add(1)
						if ctx.Err() == nil {
							t.Errorf("worker %d: release %v: %v", w, v, err)
						}
					}
				}
			}
		}()
	}
	return l
}

// waitMore waits until n more allocations succeeded than when it was called.
func (l *load) waitMore(n int64) {
	l.t.Helper()
	start := l.ok.Load()
	for i := 0; l.ok.Load() < start+n; i++ {
		if i == 6000 {
			l.t.Fatalf("only %d of %d allocations in 60s", l.ok.Load()-start, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
	for _, a := range l.allocs {
		a.Close()
	}
}

// check compares etcd with the ledger: every allocation the ledger holds is in
// etcd (nothing lost), and etcd holds nothing else beyond what failed calls may
// have applied without learning it (a leak for Repair, never a duplicate: the
// ledger would have caught one).
func (l *load) check(cli *clientv3.Client, key string) {
	l.t.Helper()
	got := storedValues(l.t, cli, key, PerValue, nil)
	for v := range l.ledger.holder {
		if !got[v.String()] {
			l.t.Errorf("%v allocated but not in etcd", v)
		}
	}
	if extra := len(got) - len(l.ledger.holder); extra < 0 || int64(extra) > l.failed.Load() {
		l.t.Errorf("etcd holds %d, the ledger %d, with %d failed calls", len(got), len(l.ledger.holder), l.failed.Load())
	}
	l.t.Logf("%d allocations, %d failed calls, %d held", l.ok.Load(), l.failed.Load(), len(l.ledger.holder))
}

// TestFaultMemberStopped: with one of three members stopped, allocation goes on
// with the quorum of two.
func TestFaultMemberStopped(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{Members: 3})
	l := startLoad(t, "/test/f1", c.TestClient(t), c.TestClient(t))
	l.waitMore(100)
	victim := (c.Leader() + 1) % 3
	c.Stop(victim)
	l.waitMore(300)
	l.stop()
	l.check(c.TestClient(t, c.Endpoint((victim+1)%3)), "/test/f1")
}

// TestFaultLeaderKilled: the raft leader dies abruptly; allocation resumes after
// the election with no duplicate and nothing lost.
func TestFaultLeaderKilled(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{Members: 3})
	l := startLoad(t, "/test/f2", c.TestClient(t), c.TestClient(t))
	l.waitMore(100)
	dead := c.Leader()
	c.Kill(dead)
	l.waitMore(300)
	l.stop()
	if c.Leader() == dead || c.Leader() < 0 {
		t.Errorf("leader after the kill: %d (killed %d)", c.Leader(), dead)
	}
	l.check(c.TestClient(t, c.Endpoint((dead+1)%3)), "/test/f2")
}

// TestFaultClientCutOff: a client whose only endpoint is gone fails its calls with
// ErrUnavailable after its bounded retries, writes nothing, and the others go on.
func TestFaultClientCutOff(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{Members: 3})
	lonely := c.TestClient(t, c.Endpoint(2))
	cut, err := NewIPAllocator(t.Context(), lonely, "/test/f3", faultPrefix, Config{Retry: Retry{Attempts: 3, AttemptTimeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	if _, err := cut.AllocateNext(t.Context()); err != nil {
		t.Fatal(err)
	}
	l := startLoad(t, "/test/f3", c.TestClient(t, c.Endpoint(0), c.Endpoint(1)))
	c.Stop(2)
	if v, err := cut.AllocateNext(t.Context()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("cut-off AllocateNext = %v, %v; want ErrUnavailable", v, err)
	}
	if err := cut.Allocate(t.Context(), netip.MustParseAddr("10.96.200.1")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("cut-off Allocate = %v; want ErrUnavailable", err)
	}
	l.waitMore(100)
	l.stop()
	after := storedValues(t, c.TestClient(t, c.Endpoint(0)), "/test/f3", PerValue, nil)
	if after["10.96.200.1"] {
		t.Errorf("the cut-off client's Allocate was applied")
	}
	lonely.Close()
	if _, err := cut.AllocateNext(t.Context()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("AllocateNext on a closed client = %v; want ErrUnavailable", err)
	}
}

// TestFaultClusterRestart: every member stopped and started again from its data
// dir: every allocation and every published object is still there.
func TestFaultClusterRestart(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{Members: 3})
	cli := c.TestClient(t)
	l := startLoad(t, "/test/f4", cli)
	l.waitMore(200)
	l.stop()
	p := NewPublisher(cli, "/test/svc/", objCodec, Retry{})
	churn(t, p, 200, 0)
	want, _ := source(t, cli, "/test/svc/")
	c.StopAll()
	if err := c.RestartAll(); err != nil {
		t.Fatal(err)
	}
	cli2 := c.TestClient(t)
	l.check(cli2, "/test/f4")
	f := NewFollower(cli2, "/test/svc/", objCodec)
	m := newModel(t)
	stop := m.run(f)
	defer stop()
	got, rev := source(t, cli2, "/test/svc/")
	m.waitRev(rev)
	equalState(t, got, want)
	held, _ := m.snapshot()
	equalState(t, held, want)
}

// TestFaultWatchCompacted: a node's watch is cut off (its only member stops)
// while the control plane goes on writing and etcd compacts past the node's
// revision; when the member returns, the node relists and ends equal to the source.
func TestFaultWatchCompacted(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{Members: 3})
	writer := c.TestClient(t, c.Endpoint(0), c.Endpoint(1))
	p := NewPublisher(writer, "/test/svc/", objCodec, Retry{})
	churn(t, p, 100, 0)
	f := NewFollower(c.TestClient(t, c.Endpoint(2)), "/test/svc/", objCodec)
	m := newModel(t)
	stop := m.run(f)
	defer stop()
	_, rev := source(t, writer, "/test/svc/")
	m.waitRev(rev)
	c.Stop(2)
	churn(t, p, 150, 1)
	want, rev := source(t, writer, "/test/svc/")
	if _, err := writer.Compact(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(2); err != nil {
		t.Fatal(err)
	}
	m.waitRev(rev)
	got, updates := m.snapshot()
	equalState(t, got, want)
	if !updates[len(updates)-1].Relisted {
		t.Errorf("last update not a relist: the compacted watch did not fall back to a list")
	}
}
