// Package nodeagent is the node side of svcnet: it takes resolved state
// ([resolved.State], from a control plane in the same process or from
// etcd) and programs it into the node's kernel through package dataplane
// and into cluster DNS through dnsname's Catalog (served by dnsserver).
//
// The node agent is the adapter between endpoints and its consumers, so
// the conversions live here, exported: [AppendServicePorts] turns a
// resolved Service into dataplane service ports, choosing each port's
// endpoints with endpoints.AppendUsable for this node and zone (the one
// readiness-and-topology rule: ready, else serving-and-terminating; node
// and zone hints; Local policies), and [DNSService] turns it into a
// dnsname.Service. Neither dataplane nor dnsname imports endpoints or
// resolved, so an embedder that programs the kernel from its own model
// keeps using them alone; one that has resolved state calls these.
//
// An [Agent] holds these invariants:
//   - one bad service never blocks the rest: a service that fails
//     resolved.Service.Validate, or whose ports the kernel refuses
//     (dataplane.SyncError), is left out and reported in a [*SyncError]
//     and in [Health] (reported, not unhealthy: [Health.OK] stays true,
//     as the control plane's does); every other service is served in the
//     kernel and in DNS;
//   - after the first full sync only the services whose Revision changed
//     are sent, through dataplane's Update; a failed batch makes the next
//     sync whole again;
//   - [Agent.Run] starts goroutines only for itself (the kernel table
//     watch that repairs outside damage) and ends them before it returns.
//
// Usage:
//
//	agent, err := nodeagent.New(nodeagent.Config{Node: "node-1", Zone: "z1",
//		Dataplane: dp, Catalog: catalog})
//	...
//	err = agent.Run(ctx, &latest) // latest: a *resolved.Latest the control plane publishes to
package nodeagent
