package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// writeWorld writes n services, each selecting its own pod, into dir: the
// services in one file, the pods in files of 100, so that one edit
// rewrites one small file.
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

// BenchmarkEditSync10k is the proxy's end-to-end sync after one manifest
// edit (one pod file's readiness flipped) at 10,000 services, on a kernel
// (issue 12's "no regression" figure).
func BenchmarkEditSync10k(b *testing.B) {
	ns := netnstest.NewNS(b, "bench")
	dir := b.TempDir()
	writeWorld(b, dir, 10000)
	cfg := Config{Manifests: dir, StateFile: filepath.Join(b.TempDir(), "s.json"), NetNS: ns.Path(), NodeName: "n1"}
	dp, err := NewDataplane(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer dp.Close()
	p, err := New(cfg, Options{Programmer: dp})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		writePods(b, dir, 0, [2]string{"False", "True"}[i%2])
		if err := p.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
