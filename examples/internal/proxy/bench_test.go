package proxy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/internal/netnstest"
)

// writeBenchWorld writes n services, each selecting its own pod: the
// services in one file, the pods in files of 100, so that one edit
// rewrites one small file (the world of the old examples/proxy/node
// benchmark, 6.78 s per edit at 10,000 services).
func writeBenchWorld(b *testing.B, dir string, n int) {
	var svcs strings.Builder
	for i := range n {
		fmt.Fprintf(&svcs, "---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: bench}\nspec:\n  selector: {app: s%d}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(svcs.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	for f := range n / 100 {
		writeBenchPods(b, dir, f, "True")
	}
}

func writeBenchPods(b *testing.B, dir string, f int, ready string) {
	var pods strings.Builder
	for i := f * 100; i < f*100+100; i++ {
		fmt.Fprintf(&pods, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d, namespace: bench, labels: {app: s%d}}\nspec: {nodeName: n1, containers: [{name: c, image: i}]}\nstatus: {phase: Running, podIP: 10.%d.%d.%d, conditions: [{type: Ready, status: %q}]}\n",
			i, i, 244+(i>>16), (i>>8)&255, i&255, ready)
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".pods-%03d.tmp", f))
	if err := os.WriteFile(tmp, []byte(pods.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("pods-%03d.yaml", f))); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEditSync10k is the proxy's end-to-end sync after one manifest
// edit at 10,000 services (issue 12's "no regression" figure): one pod
// file's readiness flipped on disk, until the node agent has synced the
// resulting state into the kernel table of a real namespace. It runs the
// whole Proxy with its default configuration, as an operator sees it:
// inotify, the loader's debounce, the control plane, the node agent's
// incremental kernel update.
func BenchmarkEditSync10k(b *testing.B) { benchEditSync(b, 10000) }

func benchEditSync(b *testing.B, n int) {
	ns := netnstest.NewNS(b, "bench")
	dir := b.TempDir()
	writeBenchWorld(b, dir, n)
	p, err := New(Config{Manifests: manifests.Config{Dir: dir}, NetNS: ns.Path(), Node: "n1",
		StateFile: filepath.Join(b.TempDir(), "state.json")})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	synced := func(after uint64) bool {
		st := p.State()
		h := p.Health()
		return st != nil && st.Version > after && len(st.Services) == n && h.Agent.Version >= st.Version && h.Agent.SyncErr == nil
	}
	waitBench(b, func() bool { return synced(0) })
	b.ResetTimer()
	for i := range b.N {
		v := p.State().Version
		writeBenchPods(b, dir, 0, [2]string{"False", "True"}[i%2])
		waitBench(b, func() bool { return synced(v) })
	}
}

// waitBench polls cond every millisecond; the bound only stops a hung run.
func waitBench(b *testing.B, cond func() bool) {
	for end := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			b.Fatal("no sync within 2 minutes")
		}
	}
}
