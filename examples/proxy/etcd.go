package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/svcnet/svcnet/etcd"
	"github.com/svcnet/svcnet/examples/controller/replica"
	"github.com/svcnet/svcnet/examples/internal/flagx"
	"github.com/svcnet/svcnet/examples/internal/proxy"
)

// etcdMode is the proxy's node-only mode: with --etcd it follows the
// Services that the leading controller (examples/controller) publishes in
// etcd instead of reading a manifests directory, so that every node of a
// cluster serves the same addresses. No control plane runs here.
type etcdMode struct {
	endpoints []string
	prefix    string
}

func (e *etcdMode) define(fs *flag.FlagSet) {
	fs.Var(flagx.Strings(&e.endpoints), "etcd", "etcd `endpoints`, comma-separated: follow the Services examples/controller publishes there instead of reading --manifests (node-only mode; the allocation flags are then the controller's)")
	fs.StringVar(&e.prefix, "etcd-prefix", replica.DefaultPrefix, "etcd key `prefix` the controllers publish under (with --etcd)")
}

func (e *etcdMode) enabled() bool { return len(e.endpoints) > 0 }

// check refuses what node-only mode cannot do: it has no manifests to read,
// resolve or print.
func (e *etcdMode) check(cfg *proxy.Config, m mode) error {
	if e.enabled() && (cfg.Manifests.Dir != "" || m.dryRun || m.once) {
		return fmt.Errorf("%w: --etcd follows a controller: it takes neither --manifests nor --dry-run nor --once", errUsage)
	}
	return nil
}

// serve runs the proxy on the Services published in etcd until ctx ends.
// While etcd cannot be reached the node keeps its last rules and DNS:
// the delivery reports the outage to the node agent, which shows it in
// /healthz (and svcnet_healthy in /metrics), and it is logged; when etcd
// returns, the delivery resumes from its last revision (or relists) and
// the node catches up.
func (e *etcdMode) serve(ctx context.Context, cfg proxy.Config) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("--etcd: %w", err)
	}
	defer cli.Close()
	d := etcd.NewServiceDelivery(cli, replica.ServicesKey(e.prefix))
	cfg.Delivery = d
	p, err := proxy.New(cfg)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := d.Run(ctx); !errors.Is(err, context.Canceled) {
			return fmt.Errorf("following etcd: %w", err)
		}
		return nil
	})
	g.Go(func() error { return p.Run(ctx) })
	g.Go(func() error {
		logOutages(ctx, d, cfg.Logger)
		return nil
	})
	cfg.Logger.Info("following etcd", "endpoints", e.endpoints, "prefix", replica.ServicesKey(e.prefix), "node", cfg.Node)
	return g.Wait()
}

// logOutages logs each change of the delivery's connection to etcd, once.
func logOutages(ctx context.Context, d *etcd.ServiceDelivery, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	connected := true // the first failure is news; a first success is not
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := d.Status()
		switch {
		case s.Connected && !connected:
			log.Info("etcd reachable again: catching up", "revision", s.Revision)
		case !s.Connected && connected && s.LastErr != nil:
			log.Warn("etcd unreachable: keeping the last rules and DNS", "err", s.Err())
		default:
			continue
		}
		connected = s.Connected
	}
}
