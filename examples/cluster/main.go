// Command cluster shows svcnet across machines: an embedded etcd, two
// controller replicas (examples/controller's core) and two node network
// namespaces, each running the reference proxy in node-only mode, following
// the Services the leading controller publishes in etcd, with its own DNS
// server. A client on node-a resolves a Service through node-a's DNS and
// reaches a pod on node-b through that ClusterIP; then the leading
// controller is killed and the standby gives a new Service its address.
// It needs root or unprivileged user namespaces, and touches nothing
// outside the namespaces it creates.
//
//	go run ./examples/cluster
package main

import "github.com/svcnet/svcnet/examples/internal/world"

const usage = `Builds a throw-away two-node cluster in network namespaces: an embedded etcd,
two controller replicas and a proxy with its own DNS on each node, all in this
process. Shows a client on node-a reaching a pod on node-b through a ClusterIP
it resolved with node-a's DNS, and a standby controller taking over when the
leader dies. Needs root or unprivileged user namespaces; touches nothing
outside the namespaces it creates. No options.
`

func main() { world.Main("cluster", usage, Run) }
