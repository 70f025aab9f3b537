package replica_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/examples/controller/embedded"
	"github.com/svcnet/svcnet/examples/controller/replica"
	"github.com/svcnet/svcnet/resolved"
)

// static is a Source with one input that never changes.
type static controlplane.Input

func (s static) Next(ctx context.Context, after uint64) (controlplane.Input, uint64, error) {
	if after == 0 {
		return controlplane.Input(s), 1, nil
	}
	<-ctx.Done()
	return controlplane.Input{}, 0, ctx.Err()
}

// One replica on a real etcd leads at once and publishes the Service with
// its ClusterIP where nodes follow it.
func Example() {
	dir, _ := os.MkdirTemp("", "replica-example-")
	defer os.RemoveAll(dir)
	e, err := embedded.Start(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	cli, _ := e.Client()
	defer cli.Close()
	web := controlplane.Service{Spec: resolved.Service{Namespace: "default", Name: "web",
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")}, Ports: []resolved.Port{{Port: 80}}}}
	r, _ := replica.New(replica.Config{
		Client: cli, Name: "controller-1", Source: static{Services: []controlplane.Service{web}},
		NewAllocator: func() (*allocator.Services, error) {
			return allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}})
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	for {
		resp, err := cli.Get(ctx, replica.ServicesKey(replica.DefaultPrefix)+"default/web")
		if err == nil && len(resp.Kvs) == 1 {
			s, _ := resolved.UnmarshalService(resp.Kvs[0].Value)
			fmt.Println(string(resp.Kvs[0].Key), s.ClusterIPs)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	ok, why := r.Health().OK()
	fmt.Println(ok, why)
	cancel()
	<-done
	// Output:
	// /svcnet/services/default/web [10.96.0.10]
	// true leader
}
