// Command controller is svcnet's control plane for a cluster on etcd: it
// reads a directory of Kubernetes-style manifests (watched), and while it
// leads among its replicas it allocates every Service's ClusterIPs, node
// ports and LoadBalancer addresses, computes endpoint slices, persists the
// allocations in etcd and publishes the resolved Services there for the
// nodes (examples/proxy --etcd). Run two or three replicas with the same
// --etcd and --prefix: one leads, the others stand by and take over when
// it stops, or within --ttl when it dies.
//
//	go run ./examples/controller --etcd http://127.0.0.1:2379 --manifests ./manifests
//
// /healthz answers "leader" or "standby" (503 while a leader cannot read,
// persist or publish); /metrics has the leadership, takeovers, and read,
// persist and publish errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/svcnet/svcnet/examples/controller/replica"
	"github.com/svcnet/svcnet/examples/internal/source"
	"github.com/svcnet/svcnet/examples/manifests"
)

func main() {
	cfg, err := parseFlags(flag.CommandLine, os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("controller stopped", "err", err)
		os.Exit(1)
	}
}

// run runs one replica on the manifests directory until ctx ends.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: cfg.etcd, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("etcd %v: %w", cfg.etcd, err)
	}
	defer cli.Close()
	latest := &manifests.Latest{}
	r, err := replica.New(replica.Config{
		Client: cli, Name: cfg.name, Prefix: cfg.prefix, TTL: cfg.ttl,
		Source:       &source.Manifests{Latest: latest, Log: log},
		NewAllocator: cfg.newAllocator, ExternalIPs: cfg.externalIPs, Log: log,
	})
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		err := manifests.Watch(ctx, manifests.Config{Dir: cfg.manifests, ExternalIPCIDRs: cfg.externalIPs}, latest.Store)
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch %s: %w", cfg.manifests, err)
	})
	g.Go(func() error { return r.Run(ctx) })
	if cfg.metricsListen != "" {
		l, err := net.Listen("tcp", cfg.metricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		srv := &http.Server{Handler: handler(r), ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			<-ctx.Done()
			return srv.Close()
		})
		g.Go(func() error {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	log.Info("controller started", "replica", cfg.name, "etcd", cfg.etcd, "prefix", cfg.prefix, "manifests", cfg.manifests)
	return g.Wait()
}
