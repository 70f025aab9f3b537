package proxy_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/svcnet/svcnet/examples/internal/proxy"
	"github.com/svcnet/svcnet/examples/manifests"
)

// The control plane side of the proxy, without the kernel: resolve a
// manifests directory once and print what each service was given. Run
// would then program it into Config.NetNS and serve its DNS.
func ExampleProxy_Resolve() {
	dir, _ := os.MkdirTemp("", "svcnet-example-")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.80
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
`), 0o644)
	p, err := proxy.New(proxy.Config{Manifests: manifests.Config{Dir: dir}, StateFile: "-"})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := p.Resolve()
	if err != nil {
		fmt.Println(err)
		return
	}
	proxy.PrintAssigned(os.Stdout, st)
	// Output:
	// shop/web NodePort clusterIP=10.96.0.80 TCP/80:nodePort=30080
}
