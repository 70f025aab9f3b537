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

import "github.com/svcnet/svcnet/examples/internal/world"

const usage = `Builds a throw-away world of network namespaces (a node, three pods, a client,
an outside host), runs the reference proxy on it and shows a ClusterIP, DNS,
load spreading, ClientIP affinity, NodePort and LoadBalancer access, and
endpoints following manifest edits. Needs root or unprivileged user
namespaces; touches nothing outside the namespaces it creates. No options.
`

func main() { world.Main("demo", usage, Run) }
