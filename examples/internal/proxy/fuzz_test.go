package proxy

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/resolved"
)

// FuzzReadState feeds arbitrary state files to readState: it never
// panics, a file it accepts in the current format restores an allocator
// whose snapshot it accepts again, and a version 1 file migrates onto a
// service without panicking. Seeds in testdata/fuzz/FuzzReadState.
func FuzzReadState(f *testing.F) {
	legacy, err := os.ReadFile("testdata/legacy/svcnet-state-v1.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(legacy)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "state.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		alloc := fuzzAllocator(t)
		old, err := readState(path, alloc)
		if err != nil {
			return
		}
		if old != nil {
			in := controlplane.Input{Services: []controlplane.Service{{Spec: resolved.Service{Namespace: "default", Name: "web",
				Ports: []resolved.Port{{Name: "http", Port: 80}}}}}}
			for k := range old {
				in.Services[0].Spec.Namespace, in.Services[0].Spec.Name = splitRef(k)
			}
			migrateLegacy(old, in)
			return
		}
		if err := writeState(path, alloc.Snapshot()); err != nil {
			t.Fatal(err)
		}
		if _, err := readState(path, fuzzAllocator(t)); err != nil {
			t.Errorf("a restored state written back is refused: %v", err)
		}
	})
}

func fuzzAllocator(t *testing.T) *allocator.Services {
	a, err := allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func splitRef(k string) (ns, name string) {
	for i := range k {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return "", k
}
