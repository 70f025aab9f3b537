// Command demo builds a throw-away world in network namespaces — a node,
// three pods serving HTTP, a client and an outside host — writes
// Kubernetes manifests for it, runs the reference proxy in-process and
// prints what a Service does: a ClusterIP, DNS, load spreading, ClientIP
// affinity, NodePort and LoadBalancer access, and endpoints following the
// manifests. It needs root or unprivileged user namespaces, and touches
// nothing outside the namespaces it creates.
//
//	go run ./examples/demo
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/svcnet/svcnet/examples/internal/world"
)

const usage = `Builds a throw-away world of network namespaces (a node, three pods, a client,
an outside host), runs the reference proxy on it and shows a ClusterIP, DNS,
load spreading, ClientIP affinity, NodePort and LoadBalancer access, and
endpoints following manifest edits. Needs root or unprivileged user
namespaces; touches nothing outside the namespaces it creates. No options.
`

func main() {
	// Flags are for help only: the demo takes no options, and -h must not
	// build a world.
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./examples/demo\n\n%s", usage)
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	code, err := world.Enter()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	if code >= 0 {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	err = Run(ctx, os.Stdout, os.Stderr)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}
