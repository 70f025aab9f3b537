package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/svcnet/svcnet/etcd"
	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
)

// Two control-plane replicas, each with its own client, share one ClusterIP range:
// a requested address is given once, and AllocateNext never hands out a held one.
func ExampleIPAllocator() {
	dir, _ := os.MkdirTemp("", "etcd-example")
	defer os.RemoveAll(dir)
	cluster, err := etcdtest.New(dir, etcdtest.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close()
	ctx := context.Background()
	prefix := netip.MustParsePrefix("10.96.0.0/16")
	var replicas []*etcd.IPAllocator
	for range 2 {
		cli, _ := cluster.Client()
		defer cli.Close()
		a, _ := etcd.NewIPAllocator(ctx, cli, "/svcnet/alloc/clusterip", prefix, etcd.Config{})
		defer a.Close()
		replicas = append(replicas, a)
	}
	dns := netip.MustParseAddr("10.96.0.10")
	fmt.Println(replicas[0].Allocate(ctx, dns))
	fmt.Println(replicas[1].Allocate(ctx, dns))
	next, _ := replicas[1].AllocateNext(ctx)
	fmt.Println(prefix.Contains(next), next != dns)
	// Output:
	// <nil>
	// allocator: value already allocated: 10.96.0.10
	// true true
}

func ExampleLayout() {
	fmt.Println(etcd.PerValue, etcd.Snapshot)
	// Output: PerValue Snapshot
}

// A leader persists its allocations under its leadership's guard; once it no
// longer leads, its writes are refused and the snapshot stays its last one.
func ExampleSnapshotStore() {
	dir, _ := os.MkdirTemp("", "etcd-example")
	defer os.RemoveAll(dir)
	cluster, err := etcdtest.New(dir, etcdtest.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close()
	cli, _ := cluster.Client()
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var stale *etcd.SnapshotStore
	etcd.RunWhileLeading(ctx, cli, etcd.Election{Prefix: "/svcnet/leader", ID: "replica-a"}, func(ctx context.Context, l etcd.Leadership) error {
		stale = etcd.NewSnapshotStore(cli, "/svcnet/allocations", etcd.Retry{}, l.Guard())
		return stale.Save(ctx, []byte("snapshot 1"))
	}) // fn returned: the replica resigned
	cancel()
	fmt.Println(errors.Is(stale.Save(context.Background(), []byte("snapshot 2")), etcd.ErrNotLeader))
	blob, err := stale.Load(context.Background())
	fmt.Printf("%s %v\n", blob, err)
	// Output:
	// true
	// snapshot 1 <nil>
}
