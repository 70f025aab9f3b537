package source

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/nodeagent"
)

// writeWorld writes n services, each selecting its own pod: the services
// in one file, the pods in files of 100, so that one edit rewrites one
// small file (the same world as examples/proxy/node's benchmark).
func writeWorld(b *testing.B, dir string, n int) {
	var svcs strings.Builder
	for i := range n {
		fmt.Fprintf(&svcs, "---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: bench}\nspec:\n  selector: {app: s%d}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(svcs.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	for f := range n / 100 {
		writePods(b, dir, f, "True")
	}
}

func writePods(b *testing.B, dir string, f int, ready string) {
	var pods strings.Builder
	for i := f * 100; i < f*100+100; i++ {
		fmt.Fprintf(&pods, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d, namespace: bench, labels: {app: s%d}}\nspec: {nodeName: n1, containers: [{name: c, image: i}]}\nstatus: {phase: Running, podIP: 10.%d.%d.%d, conditions: [{type: Ready, status: %q}]}\n",
			i, i, 244+(i>>16), (i>>8)&255, i&255, ready)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("pods-%03d.yaml", f)), []byte(pods.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEditSync10k is the composition's end-to-end sync after one
// manifest edit (one pod file's readiness flipped) at 10,000 services on a
// kernel: a whole-directory load, the control plane's Resolve, and the
// node agent's Apply (an incremental kernel update of the changed
// services). Compare with examples/proxy/node's BenchmarkEditSync10k.
func BenchmarkEditSync10k(b *testing.B) {
	ns := netnstest.NewNS(b, "bench")
	dir := b.TempDir()
	writeWorld(b, dir, 10000)
	alloc, err := allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}})
	if err != nil {
		b.Fatal(err)
	}
	cp, _ := controlplane.New(controlplane.Config{Allocator: alloc})
	dp, err := dataplane.New(dataplane.Options{NetNS: ns.Path()})
	if err != nil {
		b.Fatal(err)
	}
	defer dp.Close()
	agent, _ := nodeagent.New(nodeagent.Config{Node: "n1", Dataplane: dp})
	loader := manifests.NewLoader(manifests.Config{Dir: dir})
	ctx := context.Background()
	sync := func() {
		set, errs := loader.Load()
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		st, err := cp.Resolve(Input(&set))
		if err != nil {
			b.Fatal(err)
		}
		if err := agent.Apply(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
	sync()
	b.ResetTimer()
	for i := range b.N {
		writePods(b, dir, 0, [2]string{"False", "True"}[i%2])
		sync()
	}
}
