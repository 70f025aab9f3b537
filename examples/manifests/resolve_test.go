package manifests

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDuplicateKeepsEstablished holds issue 13: a duplicate Service name
// in a new file that sorts earlier must not take over the live service; the
// established object keeps its place and the newcomer is refused, reported
// against its own file.
func TestDuplicateKeepsEstablished(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "m.yaml", svc("web", "  clusterIP: 10.96.0.10\n"))
	l := NewLoader(Config{Dir: dir})
	if set, errs := l.Load(); len(errs) != 0 || len(set.Services) != 1 {
		t.Fatalf("first Load = %v, %v", serviceNames(set), errs)
	}
	write(t, dir, "a.yaml", svc("web", "  clusterIP: 10.96.0.99\n"))
	for i := 0; i < 2; i++ { // and it stays so on the next load
		set, errs := l.Load()
		if len(set.Services) != 1 || set.Services[0].Source.File != "m.yaml" {
			t.Fatalf("Load %d = %+v; want web from m.yaml", i, set.Services)
		}
		var e *Error
		if len(errs) != 1 || !errors.As(errs[0], &e) || !errors.Is(e, ErrDuplicate) || e.File != "a.yaml" || e.Doc != 0 || e.Field != "metadata.name" || !strings.Contains(e.Error(), "m.yaml document 0") {
			t.Errorf("Load %d errors = %v; want a.yaml's duplicate refused, naming m.yaml", i, errs)
		}
	}
	// A fresh loader has nothing established: file order decides.
	set, _ := NewLoader(Config{Dir: dir}).Load()
	if set.Services[0].Source.File != "a.yaml" {
		t.Errorf("fresh Load took web from %s; want a.yaml, the first in name order", set.Services[0].Source.File)
	}
	// The established file being broken for a while keeps the name: the
	// newcomer does not slip in.
	write(t, dir, "m.yaml", svc("web", "  clusterIP: 0.0.0.0\n"))
	set, errs := l.Load()
	if len(set.Services) != 0 || len(errs) != 2 {
		t.Errorf("established file broken: Load = %v, %v; want no web, two errors", serviceNames(set), errs)
	}
	// Once m.yaml no longer names it, a.yaml's takes over.
	write(t, dir, "m.yaml", "")
	set, errs = l.Load()
	if len(set.Services) != 1 || set.Services[0].Source.File != "a.yaml" || len(errs) != 0 {
		t.Errorf("after m.yaml dropped web: Load = %+v, %v; want web from a.yaml", set.Services, errs)
	}
}

// TestDuplicateUnreadableOwner: a file refused as a whole for a moment
// (here: too large) still holds the names it held.
func TestDuplicateUnreadableOwner(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "m.yaml", svc("web", ""))
	l := NewLoader(Config{Dir: dir, MaxFileBytes: 512})
	l.Load()
	write(t, dir, "a.yaml", svc("web", ""))
	write(t, dir, "m.yaml", svc("web", "")+"# "+strings.Repeat("x", 600)+"\n")
	set, errs := l.Load()
	if len(set.Services) != 0 || len(errs) != 2 || !errors.Is(errs[0], ErrDuplicate) || !errors.Is(errs[1], ErrTooLarge) {
		t.Errorf("Load = %v, %v; want no web: a.yaml's duplicate refused, m.yaml too large", serviceNames(set), errs)
	}
}

// TestConflictKeepsEstablished: of two Services claiming one external
// address:port, the one loaded before keeps it, whatever the file order.
func TestConflictKeepsEstablished(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, ExternalIPCIDRs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	write(t, dir, "m.yaml", svc("old", "  externalIPs: [192.0.2.7]\n"))
	l := NewLoader(cfg)
	l.Load()
	write(t, dir, "a.yaml", svc("new", "  externalIPs: [192.0.2.7]\n"))
	set, errs := l.Load()
	if !slices.Equal(serviceNames(set), []string{"default/old"}) || len(errs) != 1 || !errors.Is(errs[0], ErrConflict) || !strings.HasPrefix(errs[0].Error(), "a.yaml: document 0: spec.externalIPs[0]: ") {
		t.Errorf("Load = %v, %v; want old kept, a.yaml's new refused", serviceNames(set), errs)
	}
	// Different ports on one external IP do not conflict.
	write(t, dir, "a.yaml", svc("new", "  ports:\n  - port: 443\n  externalIPs: [192.0.2.7]\n"))
	if set, errs := l.Load(); len(set.Services) != 2 || len(errs) != 0 {
		t.Errorf("Load = %v, %v; want old and new on ports 80 and 443", serviceNames(set), errs)
	}
}

// TestCacheRereadsOnlyChanged: an unchanged file is not parsed again, nor
// is one rewritten with the same bytes; a changed one is.
func TestCacheRereadsOnlyChanged(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", svc("a", ""))
	write(t, dir, "b.yaml", svc("b", ""))
	l := NewLoader(Config{Dir: dir})
	if _, _, changed := l.load(nil); !changed {
		t.Error("first load: changed = false")
	}
	a, b := l.files["a.yaml"].res, l.files["b.yaml"].res
	write(t, dir, "b.yaml", svc("b", "")) // same bytes, new mtime
	if _, _, changed := l.load(nil); changed || l.files["a.yaml"].res != a || l.files["b.yaml"].res != b {
		t.Errorf("same bytes: changed = %v, parses reused = %v, %v; want false, true, true", changed, l.files["a.yaml"].res == a, l.files["b.yaml"].res == b)
	}
	write(t, dir, "b.yaml", svc("b2", ""))
	set, _, changed := l.load(nil)
	if !changed || l.files["a.yaml"].res != a || l.files["b.yaml"].res == b || !slices.Equal(serviceNames(set), []string{"default/a", "default/b2"}) {
		t.Errorf("b.yaml changed: changed = %v, a reused = %v, b re-parsed = %v, services %v", changed, l.files["a.yaml"].res == a, l.files["b.yaml"].res != b, serviceNames(set))
	}
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	if set, _, changed := l.load(nil); !changed || len(set.Services) != 1 {
		t.Errorf("b.yaml removed: changed = %v, services %v", changed, serviceNames(set))
	}
}

// TestTruncatedFile: a file cut at a "---" or emptied is a load with fewer
// objects, not an error; the whole file again gives them all back.
func TestTruncatedFile(t *testing.T) {
	dir := t.TempDir()
	whole := svc("a", "") + "---\n" + svc("b", "")
	write(t, dir, "f.yaml", whole)
	l := NewLoader(Config{Dir: dir})
	for _, tc := range []struct {
		body string
		want int
	}{{whole, 2}, {whole[:strings.Index(whole, "---")+4], 1}, {"", 0}, {whole, 2}} {
		write(t, dir, "f.yaml", tc.body)
		set, errs := l.Load()
		if len(errs) != 0 || len(set.Services) != tc.want {
			t.Errorf("f.yaml = %q: Load = %v, %v; want %d services, no error", tc.body, serviceNames(set), errs, tc.want)
		}
	}
}

// TestDirtyLoad: a load of only the names inotify reported sees the same
// as a full load: a changed, a created and a removed file.
func TestDirtyLoad(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", svc("a", ""))
	write(t, dir, "b.yaml", svc("b", ""))
	write(t, dir, "d.yaml", svc("d", ""))
	l := NewLoader(Config{Dir: dir})
	l.load(nil)
	os.Remove(filepath.Join(dir, "a.yaml"))
	write(t, dir, "b.yaml", svc("b2", ""))
	write(t, dir, "c.yaml", svc("c", ""))
	set, errs, changed := l.load(map[string]bool{"a.yaml": true, "b.yaml": true, "c.yaml": true, "notes.txt": true})
	full, _ := NewLoader(Config{Dir: dir}).Load()
	if !changed || len(errs) != 0 || !slices.Equal(serviceNames(set), serviceNames(full)) {
		t.Errorf("dirty load = %v, %v, changed %v; want %v as a full load", serviceNames(set), errs, changed, serviceNames(full))
	}
}
