package manifests

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestHostileFiles holds issue 13's "the manifests source is robust": a
// name that is not a regular file, or too large, is refused with a clear
// error naming it, without blocking and without reading it, while the rest
// of the directory loads; once it goes away the next Load is clean.
func TestHostileFiles(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, path string)
		wantErr error
		want    string
	}{
		{"fifo", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, ErrNotRegular, "named pipe"},
		{"symlink to /dev/zero", func(t *testing.T, p string) { symlink(t, "/dev/zero", p) }, ErrNotRegular, "character device"},
		{"symlink loop", func(t *testing.T, p string) { symlink(t, p, p) }, ErrNotRegular, "symlink loop"},
		{"dangling symlink", func(t *testing.T, p string) { symlink(t, p+".missing", p) }, ErrNotRegular, "dangling"},
		{"directory", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, ErrNotRegular, "directory"},
		{"huge sparse file", func(t *testing.T, p string) {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(50 << 20); err != nil {
				t.Fatal(err)
			}
		}, ErrTooLarge, "52428800 bytes"},
		// A regular file whose read fails, even for root: reading
		// /proc/self/mem at offset 0 gives EIO.
		{"unreadable", func(t *testing.T, p string) { symlink(t, "/proc/self/mem", p) }, ErrUnreadable, "input/output error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "a.yaml", svc("a", ""))
			write(t, dir, "c.yaml", svc("c", ""))
			bad := filepath.Join(dir, "b.yaml")
			tt.make(t, bad)
			l := NewLoader(Config{Dir: dir})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			set, errs := l.Load()
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("Load allocated %d bytes; want under 1 MiB: the bad file must not be read", grew)
			}
			var e *Error
			if len(errs) != 1 || !errors.As(errs[0], &e) || !errors.Is(e, tt.wantErr) || e.File != "b.yaml" || e.Doc != -1 || !strings.Contains(e.Error(), tt.want) {
				t.Fatalf("Load errors = %v; want one for b.yaml wrapping %v, containing %q", errs, tt.wantErr, tt.want)
			}
			if got := serviceNames(set); len(got) != 2 {
				t.Errorf("services = %v; want a and c", got)
			}
			if err := os.RemoveAll(bad); err != nil {
				t.Fatal(err)
			}
			if set, errs := l.Load(); len(errs) != 0 || len(set.Services) != 2 {
				t.Errorf("after removing b.yaml: Load = %v, %v; want a and c, no error", serviceNames(set), errs)
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestReadManifestFIFO covers a file swapped for a FIFO between the stat
// and the open: the open must not block and the fstat must refuse it.
func TestReadManifestFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.yaml")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readManifest(p, 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Errorf("readManifest(fifo) = %v; want ErrNotRegular", err)
	}
}

// TestReadManifestGrows covers a file that grows past the limit after the
// stat: the read stops at the limit.
func TestReadManifestGrows(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.yaml")
	if err := os.WriteFile(p, make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readManifest(p, 1024); !errors.Is(err, ErrTooLarge) {
		t.Errorf("readManifest(2 KiB, limit 1 KiB) = %v; want ErrTooLarge", err)
	}
	if data, _, err := readManifest(p, 2048); err != nil || len(data) != 2048 {
		t.Errorf("readManifest(2 KiB, limit 2 KiB) = %d bytes, %v; want 2048, nil", len(data), err)
	}
}

// TestTotalLimit refuses the files, in name order, that would take the
// directory past MaxTotalBytes; the others load.
func TestTotalLimit(t *testing.T) {
	dir := t.TempDir()
	a, b := svc("a", ""), svc("b", "")
	write(t, dir, "a.yaml", a)
	write(t, dir, "b.yaml", b)
	write(t, dir, "c.yaml", svc("c", ""))
	set, errs := NewLoader(Config{Dir: dir, MaxTotalBytes: int64(len(a) + len(b))}).Load()
	if len(errs) != 1 || !errors.Is(errs[0], ErrTooLarge) || !strings.HasPrefix(errs[0].Error(), "c.yaml: ") || len(set.Services) != 2 {
		t.Errorf("Load = %v, %v; want a and b, c.yaml refused as too large", serviceNames(set), errs)
	}
}

func TestMissingDirectory(t *testing.T) {
	set, errs := NewLoader(Config{Dir: filepath.Join(t.TempDir(), "missing")}).Load()
	if len(errs) != 1 || !errors.Is(errs[0], ErrDirectory) || len(set.Services) != 0 {
		t.Errorf("Load(missing) = %v, %v; want ErrDirectory", set, errs)
	}
}

// TestSkipsOtherNames: hidden files, other extensions and subdirectories'
// contents are not manifests.
func TestSkipsOtherNames(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", svc("a", ""))
	write(t, dir, ".hidden.yaml", "garbage: [")
	write(t, dir, "notes.txt", "garbage: [")
	write(t, dir, ".svcnet-state.json", "{}")
	write(t, dir, "b.json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"}}`)
	set, errs := NewLoader(Config{Dir: dir}).Load()
	if len(errs) != 0 || len(set.Services) != 1 || len(set.Pods) != 1 {
		t.Errorf("Load = %v, %v; want a and pod b, no error", set, errs)
	}
}

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o644) }
