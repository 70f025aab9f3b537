package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/svcnet/svcnet/internal/netnstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// sample is a NodePort service and the pod behind it, as the README shows.
func sample(podIP netip.Addr) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web, image: web}]}
status: {phase: Running, podIP: %s, conditions: [{type: Ready, status: "True"}]}
`, podIP)
}

func manifestsDir(t *testing.T, body string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHelp: -h explains the namespace argument and where each listener
// opens (issue 12's newcomer friction), and exits 0.
func TestHelp(t *testing.T) {
	code, _, help := runCmd(t, "-h")
	if code != 0 {
		t.Errorf("-h exit code %d; want 0", code)
	}
	for _, want := range []string{"-netns NAME|PATH", "opened inside the --netns namespace", "NOT inside --netns", "--node-zone"} {
		if !strings.Contains(help, want) {
			t.Errorf("-h does not say %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "-netns ip netns add") {
		t.Errorf("-h shows 'ip netns add' as the argument:\n%s", help)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--manifests", "d", "--service-cidr", "10.96.0.1/16"},
		{"--manifests", "d", "--loadbalancer-pool", "nonsense"},
		{"--manifests", "d", "--pod-records", "all"},
		{"--manifests", "d", "extra"},
	} {
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Errorf("proxy %q exit code %d; want 2", args, code)
		}
	}
}

// TestDryRun prints the ruleset and the DNS records without touching the
// kernel or writing the state file.
func TestDryRun(t *testing.T) {
	dir := manifestsDir(t, sample(netip.MustParseAddr("10.244.1.2")))
	code, out, errs := runCmd(t, "--manifests", dir, "--dry-run")
	if code != 0 {
		t.Fatalf("--dry-run exit code %d: %s", code, errs)
	}
	for _, want := range []string{"# nftables ruleset", "table inet svcnet", "10.244.1.2 . 8080", "# DNS records (zone cluster.local)", "web.shop.svc.cluster.local."} {
		if !strings.Contains(out, want) {
			t.Errorf("--dry-run output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".svcnet-state.json")); err == nil {
		t.Error("--dry-run wrote the state file")
	}
}

// TestOnceAndCleanup: --once programs the namespace, prints what it
// assigned and leaves the rules, which carry traffic; --cleanup removes
// our table.
func TestOnceAndCleanup(t *testing.T) {
	w := netnstest.NewWorld(t)
	pod := w.AddPod(t, "web-0")
	pod.Serve(t, 8080)
	dir := manifestsDir(t, sample(pod.IPv4))
	code, out, errs := runCmd(t, "--manifests", dir, "--netns", w.Node.Path(), "--once")
	if code != 0 {
		t.Fatalf("--once exit code %d: %s", code, errs)
	}
	m := regexp.MustCompile(`^shop/web NodePort clusterIP=(\S+) TCP/80:nodePort=(\d+)\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("--once printed %q; want the ClusterIP and node port", out)
	}
	cip := netip.MustParseAddr(m[1])
	if _, again, _ := runCmd(t, "--manifests", dir, "--netns", w.Node.Path(), "--once"); again != out {
		t.Errorf("a second --once printed %q; want the same addresses %q (kept in the state file)", again, out)
	}
	if r, err := w.Client.NS.Ask(context.Background(), "tcp", netip.AddrPortFrom(cip, 80)); err != nil || r.Backend != "web-0" {
		t.Errorf("after --once, %s:80 answered %+v, %v; want web-0", cip, r, err)
	}
	if r, err := w.External.Ask(context.Background(), "tcp", netip.MustParseAddrPort(w.NodeIPv4.String()+":"+m[2])); err != nil || r.Backend != "web-0" {
		t.Errorf("after --once, node port %s answered %+v, %v; want web-0", m[2], r, err)
	}
	if code, _, errs := runCmd(t, "--netns", w.Node.Path(), "--cleanup"); code != 0 {
		t.Fatalf("--cleanup exit code %d: %s", code, errs)
	}
	if out, err := w.Node.Exec("nft", "list", "table", "inet", "svcnet"); err == nil {
		t.Errorf("table still there after --cleanup:\n%s", out)
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

// TestDryRunGolden pins the ruleset and DNS records --dry-run prints for
// representative services (requested addresses, so the output is fixed).
func TestDryRunGolden(t *testing.T) {
	code, got, errs := runCmd(t, "--manifests", "testdata/golden", "--state", filepath.Join(t.TempDir(), "s.json"),
		"--node", "node-a", "--loadbalancer-pool", "203.0.113.0/28", "--dry-run")
	if code != 0 {
		t.Fatalf("--dry-run exit code %d: %s", code, errs)
	}
	golden := "testdata/golden/dry-run.txt"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("dry run differs from %s (run with -update to accept):\n%s", golden, got)
	}
}
