package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// servicesYAML is the demo's first Service: web, a ClusterIP in front of
// the pods, all of them on node-b.
const servicesYAML = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 80}]
`

// serviceYAML is one more Service in front of the same pods.
func serviceYAML(name, typ string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %s}
spec:
  type: %s
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 80}]
`, name, typ)
}

// podYAML is a pod as its node's kubelet would report it.
func podYAML(name, nodeName string, ip netip.Addr) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, labels: {app: web}}
spec: {nodeName: %s, containers: [{name: web, ports: [{name: http, containerPort: 80}]}]}
status:
  phase: Running
  podIP: %s
  conditions: [{type: Ready, status: "True"}]
`, name, nodeName, ip)
}

func nodesYAML(nodes []*node) string {
	var b strings.Builder
	for _, nd := range nodes {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Node
metadata: {name: %s}
status:
  addresses: [{type: InternalIP, address: %s}]
`, nd.Name, nd.LinkIP)
	}
	return b.String()
}
