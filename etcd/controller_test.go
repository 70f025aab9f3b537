package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
	"github.com/svcnet/svcnet/resolved"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// testSource is a controlplane.Source whose input the test sets.
type testSource struct {
	mu      sync.Mutex // protects in, gen, changed
	in      controlplane.Input
	gen     uint64
	changed chan struct{}
}

func newTestSource(names ...string) *testSource {
	s := &testSource{changed: make(chan struct{})}
	s.set(names...)
	return s
}

// set makes the input one NodePort Service per name.
func (s *testSource) set(names ...string) {
	var in controlplane.Input
	for _, n := range names {
		in.Services = append(in.Services, controlplane.Service{Spec: resolved.Service{
			Namespace: "default", Name: n, Type: resolved.NodePort,
			Ports: []resolved.Port{{Name: "http", Port: 80, TargetPort: 8080}},
		}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.in, s.gen = in, s.gen+1
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *testSource) Next(ctx context.Context, after uint64) (controlplane.Input, uint64, error) {
	for {
		s.mu.Lock()
		in, gen, ch := s.in, s.gen, s.changed
		s.mu.Unlock()
		if gen > after {
			return in, gen, nil
		}
		select {
		case <-ctx.Done():
			return controlplane.Input{}, 0, ctx.Err()
		case <-ch:
		}
	}
}

var ctlRange = netip.MustParsePrefix("10.96.0.0/24")

// runController is what a control-plane program does with this package: while it
// leads, it restores the allocations its predecessor persisted, takes back what
// was published but not persisted, then runs the control plane with persists and
// publishes guarded by its leadership, and the repair loop beside it.
func runController(ctx context.Context, cli *clientv3.Client, id string, src controlplane.Source) error {
	return RunWhileLeading(ctx, cli, Election{Prefix: "/test/ctl/leader", ID: id, TTL: time.Second}, func(ctx context.Context, l Leadership) error {
		alloc, err := allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{ctlRange}, GracePeriod: -1})
		if err != nil {
			return err
		}
		snaps := NewSnapshotStore(cli, "/test/ctl/allocations", Retry{}, l.Guard())
		if err := snaps.Restore(ctx, alloc); err != nil {
			return err
		}
		repair := NewServicesRepair(cli, "/test/ctl/services/", alloc, Retry{})
		if _, err := repair.Repair(ctx); err != nil {
			return err
		}
		cp, err := controlplane.New(controlplane.Config{Allocator: alloc, Persist: snaps.Persist(ctx)})
		if err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() {
			done <- repair.Run(ctx, 20*time.Millisecond, nil)
		}()
		err = cp.Run(ctx, src, NewServicePublisher(cli, "/test/ctl/services/", Retry{}, l.Guard()))
		<-done
		return err
	})
}

// published waits until the Services published under the test controller's prefix
// are exactly names, and returns them by name.
func waitPublished(t *testing.T, cli *clientv3.Client, names ...string) map[string]resolved.Service {
	t.Helper()
	for range 1000 {
		got := map[string]resolved.Service{}
		resp, err := cli.Get(t.Context(), "/test/ctl/services/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			s, err := resolved.UnmarshalService(kv.Value)
			if err != nil {
				t.Fatal(err)
			}
			got[s.Name] = s
		}
		if len(got) == len(names) && !slices.ContainsFunc(names, func(n string) bool { _, ok := got[n]; return !ok }) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("published Services never became %v", names)
	return nil
}

func names(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return out
}

// TestControllerLeaderChange: a leader allocates and publishes 10 Services and
// dies; while no leader runs, one Service is deleted and five are added. The new
// leader restores the persisted allocations: the 9 that remain keep their
// ClusterIPs and NodePorts, the new ones get values no other Service holds (the
// deleted one's included), and the deleted one's values are freed in the end (by
// the control plane, which releases restored Services its source lacks, or by
// the repair loop, which may have taken them back while the Service was still
// published).
func TestControllerLeaderChange(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	src := newTestSource(names("svc", 0, 10)...)
	ctxA, stopA := context.WithCancel(t.Context())
	doneA := make(chan error, 1)
	go func() { doneA <- runController(ctxA, c.TestClient(t), "a", src) }()
	before := waitPublished(t, c.TestClient(t), names("svc", 0, 10)...)
	stopA()
	if err := <-doneA; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader a: %v", err)
	}

	src.set(append(names("svc", 1, 10), names("new", 0, 5)...)...)
	ctxB, stopB := context.WithCancel(t.Context())
	doneB := make(chan error, 1)
	go func() { doneB <- runController(ctxB, c.TestClient(t), "b", src) }()
	defer func() { stopB(); <-doneB }()
	after := waitPublished(t, c.TestClient(t), append(names("svc", 1, 10), names("new", 0, 5)...)...)
	for _, n := range names("svc", 1, 10) {
		if b, a := before[n], after[n]; !slices.Equal(a.ClusterIPs, b.ClusterIPs) || a.Ports[0].NodePort != b.Ports[0].NodePort {
			t.Errorf("%s: %v %d under the new leader; %v %d before", n, a.ClusterIPs, a.Ports[0].NodePort, b.ClusterIPs, b.Ports[0].NodePort)
		}
	}
	checkDistinct(t, after, before["svc-00"])
	eventually(t, "svc-00's allocation freed in the persisted snapshot", func() bool {
		alloc, _ := allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{ctlRange}})
		if err := NewSnapshotStore(c.TestClient(t), "/test/ctl/allocations", Retry{}).Restore(t.Context(), alloc); err != nil {
			t.Fatal(err)
		}
		_, held := alloc.Get("default/svc-00")
		return !held
	})
}

// checkDistinct fails when two Services hold one ClusterIP or NodePort, or one
// holds a value of gone (deleted but not yet freed).
func checkDistinct(t *testing.T, svcs map[string]resolved.Service, gone resolved.Service) {
	t.Helper()
	ips := map[netip.Addr]string{gone.ClusterIPs[0]: gone.Name}
	ports := map[uint16]string{gone.Ports[0].NodePort: gone.Name}
	for n, s := range svcs {
		if o, dup := ips[s.ClusterIPs[0]]; dup {
			t.Errorf("%s and %s both hold %v", n, o, s.ClusterIPs[0])
		}
		if o, dup := ports[s.Ports[0].NodePort]; dup {
			t.Errorf("%s and %s both hold node port %d", n, o, s.Ports[0].NodePort)
		}
		ips[s.ClusterIPs[0]], ports[s.Ports[0].NodePort] = n, n
	}
}

// TestServicesRepair follows Kubernetes' repair controllers (pkg/registry/core/
// service/ipallocator/controller and portallocator/controller, v1.37): a published
// Service whose allocation the allocator lacks gets exactly its published values
// back, one whose values another holds is reported as a duplicate, and a published
// Service that is gone but still held is released on the third pass that finds it
// so.
func TestServicesRepair(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	cli := c.TestClient(t)
	pub := NewServicePublisher(cli, "/test/rs/", Retry{})
	st := &resolved.State{Version: 1}
	for i := range 3 {
		s := testService(fmt.Sprintf("svc-%d", i), i+1, 1)
		s.Type, s.Ports[0].NodePort = resolved.NodePort, uint16(30001+i)
		st.Services = append(st.Services, s)
	}
	dup := testService("svc-9", 2, 1) // svc-1's ClusterIP
	if err := pub.Publish(t.Context(), &resolved.State{Version: 1, Services: append(slices.Clone(st.Services), dup)}); err != nil {
		t.Fatal(err)
	}
	alloc, err := allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}, GracePeriod: -1})
	if err != nil {
		t.Fatal(err)
	}
	r := NewServicesRepair(cli, "/test/rs/", alloc, Retry{})
	rep, err := r.Repair(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rep.Remarked)
	if got := fmt.Sprint(rep.Remarked, rep.Duplicates); got != "[default/svc-0 default/svc-1 default/svc-2] [default/svc-9]" {
		t.Errorf("first pass: remarked, duplicates = %s", got)
	}
	for _, s := range st.Services {
		a, ok := alloc.Get(s.Ref().String())
		if !ok || !slices.Equal(a.ClusterIPs, s.ClusterIPs) || a.NodePorts[0] != s.Ports[0].NodePort {
			t.Errorf("%s holds %+v after repair; want %v and node port %d", s.Name, a, s.ClusterIPs, s.Ports[0].NodePort)
		}
	}
	if err := pub.Publish(t.Context(), &resolved.State{Version: 2, Services: st.Services[:2]}); err != nil {
		t.Fatal(err)
	}
	for pass := 2; pass <= 4; pass++ {
		rep, err := r.Repair(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(rep.Leaked, rep.Freed)
		if want := map[int]string{2: "[default/svc-2] []", 3: "[default/svc-2] []", 4: "[] [default/svc-2]"}[pass]; got != want {
			t.Errorf("pass %d: leaked, freed = %s; want %s", pass, got, want)
		}
	}
	if _, ok := alloc.Get("default/svc-2"); ok {
		t.Errorf("svc-2 still held after the repair freed it")
	}
}

// TestSnapshotStoreGuard: a Save under a lost leadership writes nothing and fails
// with ErrNotLeader; Load returns what the leader saved, nil before any Save.
func TestSnapshotStoreGuard(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	cli := c.TestClient(t)
	if b, err := NewSnapshotStore(cli, "/test/snap", Retry{}).Load(t.Context()); b != nil || err != nil {
		t.Fatalf("Load of nothing = %q, %v; want nil, nil", b, err)
	}
	var held Leadership
	ctx, cancel := context.WithCancel(t.Context())
	err := RunWhileLeading(ctx, cli, Election{Prefix: "/test/snapleader", ID: "a"}, func(ctx context.Context, l Leadership) error {
		held = l
		return NewSnapshotStore(cli, "/test/snap", Retry{}, l.Guard()).Save(ctx, []byte("one"))
	})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	stale := NewSnapshotStore(cli, "/test/snap", Retry{}, held.Guard())
	if err := stale.Save(t.Context(), []byte("two")); !errors.Is(err, ErrNotLeader) {
		t.Errorf("Save after resigning = %v; want ErrNotLeader", err)
	}
	if b, err := stale.Load(t.Context()); string(b) != "one" || err != nil {
		t.Errorf("Load = %q, %v; want \"one\"", b, err)
	}
}
