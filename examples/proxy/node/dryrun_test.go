package node

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDryRunGolden pins the rendered ruleset and DNS records of
// representative services.
func TestDryRunGolden(t *testing.T) {
	cfg := Config{Manifests: "testdata/golden", StateFile: filepath.Join(t.TempDir(), "s.json"), DryRun: true, NodeName: "node-a"}
	cfg.LBPool, _ = ParsePool("203.0.113.0/28")
	p, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := p.DryRun(&got); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/golden/dry-run.txt"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("dry run differs from %s (run with -update to accept):\n%s", golden, got.String())
	}
}
