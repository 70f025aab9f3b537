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

// TestOncePrintsAssigned: --once tells the user what it assigned (issue 12).
func TestOncePrintsAssigned(t *testing.T) {
	cfg := Config{Manifests: "testdata/golden", StateFile: filepath.Join(t.TempDir(), "s.json"), NodeName: "node-a"}
	cfg.LBPool, _ = ParsePool("203.0.113.0/28")
	p, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	views, _, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	printAssigned(&got, views)
	for _, v := range views {
		if len(v.ClusterIPs) > 0 && !bytes.Contains(got.Bytes(), []byte("clusterIP="+v.ClusterIPs[0].String())) {
			t.Errorf("output lacks %s/%s's ClusterIP %v:\n%s", v.Namespace, v.Name, v.ClusterIPs[0], got.String())
		}
		for _, ip := range v.LoadBalancerIPs {
			if !bytes.Contains(got.Bytes(), []byte("loadBalancer="+ip.String())) {
				t.Errorf("output lacks %s/%s's LoadBalancer address %v", v.Namespace, v.Name, ip)
			}
		}
	}
	if got.Len() == 0 {
		t.Fatal("nothing printed")
	}
}
