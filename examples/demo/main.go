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
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/svcnet/svcnet/examples/internal/world"
)

func main() {
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
