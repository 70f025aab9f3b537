package manifests

import (
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// BenchmarkReload measures a Load after one file changed in a directory of
// 10,000 Services in 1,000 files: one file is read and parsed again, the
// others are only stat'ed, and duplicates and conflicts are checked over
// all of them.
func BenchmarkReload(b *testing.B) {
	l, dir := reloadDir(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		write(b, dir, "f0500.yaml", svc(fmt.Sprintf("changed-%d", i%2), ""))
		set, errs := l.Load()
		if len(set.Services) != 9991 || len(errs) != 0 {
			b.Fatalf("Load = %d services, %v", len(set.Services), errs)
		}
	}
}

// reloadDir writes 10,000 Services in 1,000 files and loads them once.
func reloadDir(b *testing.B) (*Loader, string) {
	dir := b.TempDir()
	for f := 0; f < 1000; f++ {
		var sb strings.Builder
		for s := 0; s < 10; s++ {
			fmt.Fprintf(&sb, "---\n%s", svc(fmt.Sprintf("s-%d-%d", f, s), fmt.Sprintf("  selector: {app: a%d}\n", s)))
		}
		write(b, dir, fmt.Sprintf("f%04d.yaml", f), sb.String())
	}
	l := NewLoader(Config{Dir: dir})
	if set, errs := l.Load(); len(set.Services) != 10000 || len(errs) != 0 {
		b.Fatalf("Load = %d services, %v", len(set.Services), errs)
	}
	return l, dir
}

// BenchmarkReloadWatched is BenchmarkReload as Watch runs it: inotify named
// the one changed file, so the other 999 are not even stat'ed.
func BenchmarkReloadWatched(b *testing.B) {
	l, dir := reloadDir(b)
	dirty := map[string]bool{"f0500.yaml": true}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		write(b, dir, "f0500.yaml", svc(fmt.Sprintf("changed-%d", i%2), ""))
		set, errs, _ := l.load(dirty)
		if len(set.Services) != 9991 || len(errs) != 0 {
			b.Fatalf("load = %d services, %v", len(set.Services), errs)
		}
	}
}

// BenchmarkLoadCold is the anchor for the two above: a fresh Loader parses
// all 1,000 files, as the old proxy did on every change.
func BenchmarkLoadCold(b *testing.B) {
	_, dir := reloadDir(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if set, errs := NewLoader(Config{Dir: dir}).Load(); len(set.Services) != 10000 || len(errs) != 0 {
			b.Fatalf("Load = %d services, %v", len(set.Services), errs)
		}
	}
}

// BenchmarkDecodeDocument measures one document from bytes to checked
// object, as a reload pays it per changed document: the churn's one-line
// Pod, a block-style Service; then the Pod's YAML→JSON step alone, by the
// fast path and by YAMLToJSON (the path every document took before).
func BenchmarkDecodeDocument(b *testing.B) {
	pod := []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: bench, labels: {app: s1}}\nspec: {nodeName: n1, containers: [{name: c, image: i}]}\nstatus: {phase: Running, podIP: 10.101.0.1, conditions: [{type: Ready, status: \"True\"}]}\n")
	service := []byte(svc("web", "  selector:\n    app: web\n  ports:\n    - name: http\n      port: 80\n      targetPort: 8080\n"))
	cfg := Config{}.withDefaults()
	for _, bc := range []struct {
		name string
		doc  []byte
	}{{"pod", pod}, {"service", service}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var p parsed
				p.addDocument(Source{File: "f.yaml"}, bc.doc, "", &cfg)
				if len(p.objects) != 1 {
					b.Fatalf("addDocument: %v", p.errs)
				}
			}
		})
	}
	b.Run("pod/fastDecode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := fastDecode(pod); !ok {
				b.Fatal("given up")
			}
		}
	})
	b.Run("pod/YAMLToJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := yaml.YAMLToJSON(pod); err != nil {
				b.Fatal(err)
			}
		}
	})
}
