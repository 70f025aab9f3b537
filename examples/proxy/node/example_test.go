package node_test

import (
	"fmt"

	"github.com/svcnet/svcnet/examples/proxy/node"
)

func ExampleLoadManifest() {
	m := node.LoadManifest("app.yaml", []byte(`apiVersion: v1
kind: Service
metadata:
  name: my-service
spec:
  selector:
    app: my-app
  ports:
    - port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: broken
spec:
  ports:
    - port: 99999
`))
	fmt.Println(m.Services[0].Metadata.Namespace, m.Services[0].Metadata.Name, m.Services[0].Spec.Ports[0].Protocol)
	fmt.Println(m.Errors[0])
	// Output:
	// default my-service TCP
	// app.yaml: document 1: spec.ports[0].port: 99999 is not in 1-65535
}

func ExampleParsePool() {
	pool, _ := node.ParsePool("192.0.2.0/30, 198.51.100.10-198.51.100.20")
	fmt.Println(pool)
	// Output: [192.0.2.0-192.0.2.3 198.51.100.10-198.51.100.20]
}
