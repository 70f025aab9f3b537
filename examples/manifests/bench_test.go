package manifests

import (
	"fmt"
	"strings"
	"testing"
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
