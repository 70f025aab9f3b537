package node

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
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

// TestRulesetParses checks the rendering with the machine's nft, which
// parses without touching the kernel in --check mode.
func TestRulesetParses(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nft not installed")
		}
		t.Skip("nft not installed")
	}
	p, err := New(Config{Manifests: "testdata/golden", StateFile: filepath.Join(t.TempDir(), "s.json")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	views, _, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	text, err := renderRuleset(views, "node-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nft", "--check", "-f", "-")
	cmd.Stdin = bytes.NewReader([]byte(text))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("nft --check: %v\n%s\n%s", err, out, text)
	}
}
