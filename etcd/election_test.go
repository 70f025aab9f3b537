package etcd

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// replica runs RunWhileLeading on its own client and records when it leads.
type replica struct {
	id      string
	cli     *clientv3.Client
	leading atomic.Bool
	guard   atomic.Pointer[Leadership]
	cancel  context.CancelFunc
	done    chan error
}

func startReplica(t *testing.T, c *etcdtest.Cluster, id string, leaders *atomic.Int32) *replica {
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{id: id, cli: cli, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- RunWhileLeading(ctx, cli, Election{Prefix: "/test/leader", ID: id, TTL: time.Second}, func(ctx context.Context, l Leadership) error {
			if n := leaders.Add(1); n != 1 {
				t.Errorf("%s leads while %d others do", id, n-1)
			}
			r.guard.Store(&l)
			r.leading.Store(true)
			<-ctx.Done()
			r.leading.Store(false)
			leaders.Add(-1)
			return ctx.Err()
		})
	}()
	return r
}

func waitLeader(t *testing.T, rs []*replica, skip *replica) *replica {
	t.Helper()
	for i := 0; i < 2000; i++ {
		for _, r := range rs {
			if r != skip && r.leading.Load() {
				return r
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no replica leads after 10s")
	return nil
}

// TestLeaderTakeover: of three replicas exactly one leads at a time. When the
// leader resigns (its context ends) a standby leads next; when the leader dies
// without resigning (its client cut off), a standby leads once the dead one's
// 1 s lease expired: within the stated bound TTL + election timeout, checked here
// with a wide margin (5 s) for a loaded CI machine. The dead leader's guard no
// longer lets it publish.
func TestLeaderTakeover(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	var leaders atomic.Int32
	var rs []*replica
	for _, id := range []string{"a", "b", "c"} {
		rs = append(rs, startReplica(t, c, id, &leaders))
	}
	first := waitLeader(t, rs, nil)
	if id, err := Leader(t.Context(), c.TestClient(t), "/test/leader"); err != nil || id != first.id {
		t.Errorf("Leader = %q, %v; want %q", id, err, first.id)
	}
	first.cancel()
	if err := <-first.done; !errors.Is(err, context.Canceled) {
		t.Errorf("resigned leader: RunWhileLeading = %v; want context.Canceled", err)
	}
	second := waitLeader(t, rs, first)

	guard := second.guard.Load()
	pub := NewPublisher(second.cli, "/test/pub/", objCodec, Retry{}, guard.Guard())
	if _, err := pub.Put(t.Context(), obj{"x", 1}); err != nil {
		t.Fatalf("leader's Put = %v", err)
	}
	start := time.Now()
	second.cli.Close() // dies: no resign, its lease runs out
	waitLeader(t, rs, second)
	took := time.Since(start)
	t.Logf("takeover after the leader died: %v", took)
	if took > time.Second+500*time.Millisecond+5*time.Second {
		t.Errorf("takeover took %v; bound TTL 1s + election 0.5s (+5s margin)", took)
	}
	stale := NewPublisher(c.TestClient(t), "/test/pub/", objCodec, Retry{}, guard.Guard())
	if _, err := stale.Put(t.Context(), obj{"x", 2}); !errors.Is(err, ErrNotLeader) {
		t.Errorf("old leader's guarded Put = %v; want ErrNotLeader", err)
	}
	var wg sync.WaitGroup
	for _, r := range rs {
		if r == first {
			continue
		}
		r.cancel()
		wg.Add(1)
		go func() { defer wg.Done(); <-r.done }()
	}
	wg.Wait()
}
