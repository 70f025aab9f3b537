package manifests_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/svcnet/svcnet/examples/manifests"
)

// A directory with a good Service, a Service whose external IP is outside
// the allowed range, and a FIFO: the good one loads, the others are
// refused with file, document and field.
func Example() {
	dir, err := os.MkdirTemp("", "manifests")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
  externalIPs: [192.0.2.10]
---
apiVersion: v1
kind: Service
metadata: {name: grab}
spec:
  ports: [{port: 443}]
  externalIPs: [198.51.100.1]
`), 0o644)
	os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml"))

	l := manifests.NewLoader(manifests.Config{
		Dir:             dir,
		ExternalIPCIDRs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
	})
	set, errs := l.Load()
	for _, s := range set.Services {
		fmt.Println(s.Key(), s.Ports[0].Protocol, s.Ports[0].Port, s.ExternalIPs)
	}
	for _, err := range errs {
		fmt.Println(err)
	}
	// Output:
	// shop/web TCP 80 [192.0.2.10]
	// web.yaml: document 1: spec.externalIPs[0]: 198.51.100.1 refused: not inside [192.0.2.0/24] (CVE-2020-8554)
	// zero.yaml: a character device, not a regular file
}
