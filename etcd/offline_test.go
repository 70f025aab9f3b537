package etcd

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// eventually polls cond every 10 ms until it holds, failing after 60 s (a bound
// for a loaded CI machine, not a speed check).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 6000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}

// offlineNode is a node agent following etcd through one member only.
type offlineNode struct {
	d     *ServiceDelivery
	agent *nodeagent.Agent
	fake  *dataplane.Fake
}

func startOfflineNode(t *testing.T, cli *clientv3.Client) *offlineNode {
	n := &offlineNode{d: NewServiceDelivery(cli, "/test/off/"), fake: dataplane.NewFake(dataplane.Options{})}
	var err error
	if n.agent, err = nodeagent.New(nodeagent.Config{Node: "node-0", Dataplane: n.fake}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { n.d.Run(ctx); done <- struct{}{} }()
	go func() { n.agent.Run(ctx, n.d); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return n
}

// synced waits until the agent has programmed revision rev and reads no error.
func (n *offlineNode) synced(t *testing.T, rev int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("node synced at revision %d", rev), func() bool {
		h := n.agent.Health()
		return h.Version >= uint64(rev) && h.ReadErr == nil
	})
}

// offline stops the node's only member and checks that the node says so while
// it keeps its rules.
func (n *offlineNode) offline(t *testing.T, c *etcdtest.Cluster) {
	t.Helper()
	rules := n.fake.Dump()
	c.Stop(2)
	eventually(t, "the agent reports the outage", func() bool { return n.agent.Health().ReadErr != nil })
	if err := n.agent.Health().ReadErr; !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "unreachable since") {
		t.Errorf("ReadErr = %v; want ErrUnavailable saying since when", err)
	}
	if st := n.d.Status(); st.Connected || st.LastErr == nil || st.Err() == nil {
		t.Errorf("Status during the outage = %+v; want not connected, with the error", st)
	}
	if n.fake.Dump() != rules {
		t.Errorf("the node's rules changed while etcd was unreachable")
	}
}

// TestDeliveryOffline: a node whose etcd member goes away keeps its last rules,
// reports the outage (nodeagent's Health.ReadErr, the delivery's Status), and when
// the member returns catches up: by resuming its watch when the revision is
// still there, by listing again when etcd compacted it meanwhile.
func TestDeliveryOffline(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{Members: 3})
	writer := c.TestClient(t, c.Endpoint(0), c.Endpoint(1))
	pub := NewPublisher(writer, "/test/off/", ServiceCodec(), Retry{})
	put := func(i, eps int) int64 {
		s := testService(fmt.Sprintf("svc-%d", i), i, eps)
		rev, err := pub.Put(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	var rev int64
	for i := range 5 {
		rev = put(i, 2)
	}
	n := startOfflineNode(t, c.TestClient(t, c.Endpoint(2)))
	n.synced(t, rev)
	if st := n.d.Status(); !st.Connected || st.Relists != 1 || st.Revision != rev {
		t.Fatalf("Status = %+v; want connected at revision %d after 1 list", st, rev)
	}

	t.Run("resume", func(t *testing.T) {
		n.offline(t, c)
		rev = put(0, 3)
		if err := c.Restart(2); err != nil {
			t.Fatal(err)
		}
		n.synced(t, rev)
		if st := n.d.Status(); !st.Connected || st.Relists != 1 {
			t.Errorf("Status after the outage = %+v; want connected, still 1 list (a resumed watch)", st)
		}
	})
	t.Run("compacted", func(t *testing.T) {
		n.offline(t, c)
		put(1, 3)
		rev = put(2, 3)
		if _, err := writer.Compact(t.Context(), rev); err != nil {
			t.Fatal(err)
		}
		if err := c.Restart(2); err != nil {
			t.Fatal(err)
		}
		n.synced(t, rev)
		if st := n.d.Status(); !st.Connected || st.Relists != 2 {
			t.Errorf("Status after the compacted outage = %+v; want connected after a second list", st)
		}
	})
	got, err := n.d.Next(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := writer.Get(t.Context(), "/test/off/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var want []*resolved.Service
	for _, kv := range resp.Kvs {
		s, err := resolved.UnmarshalService(kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, &s)
	}
	if !reflect.DeepEqual(got.Services, want) {
		t.Errorf("the node's Services differ from etcd's after the outages")
	}
}
