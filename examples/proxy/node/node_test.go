package node

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// recorder is a Programmer that keeps what it was asked to program.
type recorder struct {
	mu    sync.Mutex
	syncs [][]ServiceView
	fail  error
}

func (r *recorder) Sync(_ context.Context, s []ServiceView) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.syncs = append(r.syncs, s)
	return nil
}

func (r *recorder) Cleanup(context.Context) error { return nil }

func (r *recorder) last() []ServiceView {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.syncs) == 0 {
		return nil
	}
	return r.syncs[len(r.syncs)-1]
}

func TestRunFollowsManifests(t *testing.T) {
	dir := t.TempDir()
	pod := func(name, ip string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", labels: {app: a}}\nstatus:\n  podIP: " + ip + "\n  conditions: [{type: Ready, status: 'True'}]\n"
	}
	writeManifest(t, dir, "svc.yaml", svcYAML("a", "spec:\n  selector: {app: a}\n  ports: [{port: 80}]\n"))
	writeManifest(t, dir, "pods.yaml", pod("p1", "10.244.0.1")+"---\n"+pod("p2", "10.244.0.2"))
	rec := &recorder{}
	p, err := New(Config{Manifests: dir, NodeName: "n"}, Options{Programmer: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	eps := func() int {
		v := rec.last()
		if len(v) != 1 {
			return -1
		}
		return len(v[0].Backends(v[0].Ports[0], 4))
	}
	wait := func(what string, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 5*time.Second {
			if cond() {
				return time.Since(start)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s", what)
		return 0
	}
	wait("first sync", func() bool { return eps() == 2 })
	if b := rec.last()[0].Backends(rec.last()[0].Ports[0], 4); b[0].Addr.String() != "10.244.0.1:80" || !b[0].Ready {
		t.Errorf("backends = %+v; want 10.244.0.1:80 ready", b)
	}
	writeManifest(t, dir, "pods.yaml", pod("p1", "10.244.0.1"))
	// How fast is for benchmarks; the test asserts only that it happens.
	wait("pod removal", func() bool { return eps() == 1 })
	// A broken file keeps its last good version; a broken service is reported.
	writeManifest(t, dir, "pods.yaml", "kind: [")
	wait("problem reported", func() bool { return len(p.Problems()) == 1 })
	if eps() != 1 {
		t.Errorf("after a broken pods.yaml: %d endpoints; want the last good 1", eps())
	}
	var me *ManifestError
	if !errors.As(p.Problems()[0], &me) || me.File != "pods.yaml" {
		t.Errorf("problem = %v; want one in pods.yaml", p.Problems())
	}
	st, err := ReadState(p.cfg.StateFile)
	if err != nil || len(st.Services["default/a"].ClusterIPs) != 1 {
		t.Errorf("state file = %+v, %v; want default/a's ClusterIP", st, err)
	}
	if !p.metrics.healthy.Load() {
		t.Error("not healthy after successful syncs")
	}
}

func TestSyncErrorKeepsServing(t *testing.T) {
	dir := t.TempDir()
	writeManifest(t, dir, "svc.yaml", svcYAML("a", "spec:\n  ports: [{port: 80}]\n"))
	rec := &recorder{fail: errors.New("netlink: boom")}
	p, err := New(Config{Manifests: dir}, Options{Programmer: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Sync = %v; want the dataplane's error", err)
	}
	if p.metrics.healthy.Load() {
		t.Error("healthy after a failed sync")
	}
}

// TestSyncPublishes: after a Sync, an embedding program sees the result
// through the accessors: the zone answers the service's name and the
// metrics count it.
func TestSyncPublishes(t *testing.T) {
	dir := t.TempDir()
	writeManifest(t, dir, "svc.yaml", svcYAML("a", "spec:\n  ports: [{port: 80}]\n"))
	p, err := New(Config{Manifests: dir}, Options{Programmer: &recorder{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	req := new(dns.Msg)
	req.SetQuestion("a.default.svc.cluster.local.", dns.TypeA)
	var m dns.Msg
	if res := p.Zone().Answer(req, &m); res != ResultNoError || len(m.Answer) != 1 ||
		m.Answer[0].(*dns.A).A.String() != p.Services()[0].ClusterIPs[0].String() {
		t.Errorf("Zone().Answer(a.default) = %s %v; want the ClusterIP %v", res, m.Answer, p.Services()[0].ClusterIPs)
	}
	rec := httptest.NewRecorder()
	p.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body := rec.Body.String(); !strings.Contains(body, "svcnet_services 1\n") {
		t.Errorf("/metrics after a sync of one service lacks svcnet_services 1:\n%s", body)
	}
}

// TestRunMetricsListenFails (issue 12): when the metrics address is taken,
// Run returns the error with nothing left running (goleak in TestMain
// checks the rest).
func TestRunMetricsListenFails(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	p, err := New(Config{Manifests: dir, StateFile: dir + "/s.json", MetricsListen: taken.Addr().String()}, Options{Programmer: &recorder{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "metrics listen") {
		t.Fatalf("Run = %v; want the metrics listen error", err)
	}
}
