// Command proxy is the reference svcnet node: a small kube-proxy and
// cluster DNS for one node, driven by a directory of Kubernetes-style
// manifests. It runs the control plane (allocation, endpoint slices) and
// the node agent (kernel rules in --netns, DNS) in one process; the work
// is done by package examples/internal/proxy. Run with -h for the flags.
//
//	proxy --manifests ./manifests --netns node1 --node node1 --loadbalancer-pool 203.0.113.10-203.0.113.20
//
// With --etcd it is one node of a cluster: no control plane runs here, and
// the node follows the Services examples/controller publishes in etcd.
//
//	proxy --etcd http://10.0.0.5:2379 --netns node1 --node node1
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/svcnet/svcnet/examples/internal/proxy"
)

const usage = `usage: proxy --manifests DIR [flags]
       proxy --etcd ENDPOINTS --node NAME [flags]

Reads Kubernetes Services, Pods, EndpointSlices and Nodes from DIR (watched
for changes), allocates ClusterIPs, node ports and LoadBalancer addresses
(kept in the state file across restarts), programs the nftables rules of
the --netns namespace, and answers cluster DNS inside that namespace.
Metrics and /healthz are served in the namespace the proxy itself runs in.
With --etcd, the node instead follows the Services a controller
(examples/controller) publishes in etcd, and keeps its rules and DNS while
etcd is unreachable.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command: it returns the exit code (0 success, 1 failure,
// 2 usage). Output goes to stdout, logs to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var cfg proxy.Config
	var m mode
	text := defineFlags(fs, &cfg, &m)
	err := fs.Parse(args)
	if err == nil {
		err = text.finish(fs, &cfg, m)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "proxy:", err)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	if err := serve(ctx, cfg, m, stdout); err != nil {
		cfg.Logger.Error("proxy failed", "err", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg proxy.Config, m mode, stdout io.Writer) error {
	switch {
	case m.cleanup:
		return proxy.Cleanup(ctx, cfg)
	case m.dryRun:
		return proxy.DryRun(cfg, stdout)
	case m.once:
		return proxy.Once(ctx, cfg, stdout)
	case m.etcd.enabled():
		return m.etcd.serve(ctx, cfg)
	}
	p, err := proxy.New(cfg)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}
