// Command proxy is the reference svcnet node: a small kube-proxy and
// cluster DNS for one node, driven by a directory of Kubernetes-style
// manifests. The work is done by package node, which other programs can
// embed; see its documentation for the flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/svcnet/svcnet/examples/proxy/node"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := node.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
