package proxy

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svcnet/svcnet/resolved"
)

// waitHealth waits until /healthz answers code with a body containing
// want, and returns the body.
func (k *kernelWorld) waitHealth(t *testing.T, code int, want string) string {
	t.Helper()
	var got int
	var body string
	for end := time.Now().Add(waitBound); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if got, body = k.get("/healthz"); got == code && strings.Contains(body, want) {
			return body
		}
	}
	t.Fatalf("/healthz = %d %q; want %d containing %q", got, body, code, want)
	return ""
}

func (k *kernelWorld) metric(t *testing.T, name string) string {
	t.Helper()
	_, body := k.get("/metrics")
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, name+" ") {
			return strings.TrimPrefix(l, name+" ")
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return ""
}

// TestHealthManifestsUnreadable: while the manifests directory cannot be
// listed, /healthz says so and the last good services keep serving; when
// it is back, health turns good again.
func TestHealthManifestsUnreadable(t *testing.T) {
	k := startWorld(t)
	k.waitHealth(t, 200, "ok")
	moved := k.dir + ".away"
	if err := os.Rename(k.dir, moved); err != nil {
		t.Fatal(err)
	}
	k.waitHealth(t, 503, "control plane: read: manifests: ")
	if n := k.metric(t, "svcnet_manifest_read_errors_total"); n == "0" {
		t.Error("svcnet_manifest_read_errors_total = 0 while the directory was gone")
	}
	web := k.service(t, "web")
	reachesBoth(t, k.w.Client.NS, netipPort(web.ClusterIPs[0], 80))
	if err := os.Rename(moved, k.dir); err != nil {
		t.Fatal(err)
	}
	k.waitHealth(t, 200, "ok")
	fifo := k.dir + "/fifo.yaml"
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	k.waitHealth(t, 503, "manifests: fifo.yaml")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	k.waitHealth(t, 200, "ok")
}

// TestHealthStateUnwritable: an allocation that cannot be persisted makes
// /healthz say so (and counts it) until a retry succeeds; the new service
// is served meanwhile.
func TestHealthStateUnwritable(t *testing.T) {
	k := startWorld(t)
	k.waitHealth(t, 200, "ok")
	stateDir := k.state[:strings.LastIndexByte(k.state, '/')]
	if err := os.Rename(stateDir, stateDir+".away"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, k.dir, "more.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: more, namespace: default}\nspec:\n  selector: {app: web}\n  ports: [{port: 81, targetPort: 8080}]\n")
	k.waitHealth(t, 503, "allocations not persisted")
	if n := k.metric(t, "svcnet_persist_failures_total"); n == "0" {
		t.Error("svcnet_persist_failures_total = 0 after a failed persist")
	}
	if err := os.Rename(stateDir+".away", stateDir); err != nil {
		t.Fatal(err)
	}
	k.waitHealth(t, 200, "ok")
	st := k.waitFor(t, "service more", func(st *resolved.State) bool { return len(st.Services) == 3 })
	more := st.Services[1]
	reachesBoth(t, k.w.Client.NS, netipPort(more.ClusterIPs[0], 81))
	if _, err := os.Stat(k.state); err != nil {
		t.Errorf("state file after the retry: %v", err)
	}
}

// TestRepairCounted: our table deleted from outside is put back by the
// node agent's watch and counted in svcnet_kernel_repairs_total; traffic
// flows again.
func TestRepairCounted(t *testing.T) {
	k := startWorld(t)
	if out, err := k.w.Node.Exec("nft", "delete", "table", "inet", DefaultTable); err != nil {
		t.Fatalf("nft delete table: %v: %s", err, out)
	}
	for end := time.Now().Add(waitBound); k.metric(t, "svcnet_kernel_repairs_total") == "0"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("svcnet_kernel_repairs_total still 0 after the table was deleted")
		}
	}
	web := k.service(t, "web")
	reachesBoth(t, k.w.Client.NS, netipPort(web.ClusterIPs[0], 80))
}

// TestRefusedServiceReported: a service the control plane cannot allocate
// (a ClusterIP outside the service CIDR) is left out and named on
// /healthz and in the metrics; the proxy stays healthy and serves the
// others.
func TestRefusedServiceReported(t *testing.T) {
	k := startWorld(t)
	writeFile(t, k.dir, "bad.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: default}\nspec:\n  clusterIP: 10.97.0.5\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n")
	body := k.waitHealth(t, 200, "refused default/bad: ")
	if !strings.HasPrefix(body, "ok\n") {
		t.Errorf("/healthz = %q; want ok first", body)
	}
	if n := k.metric(t, `svcnet_refused_services{part="controlplane"}`); n != "1" {
		t.Errorf(`svcnet_refused_services{part="controlplane"} = %s; want 1`, n)
	}
	web := k.service(t, "web")
	reachesBoth(t, k.w.Client.NS, netipPort(web.ClusterIPs[0], 80))
}
