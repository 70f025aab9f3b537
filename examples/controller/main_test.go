package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/svcnet/svcnet/examples/controller/embedded"
	"github.com/svcnet/svcnet/examples/controller/replica"
	"github.com/svcnet/svcnet/resolved"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"minimal", []string{"--etcd", "http://127.0.0.1:2379", "--manifests", "/m"}, ""},
		{"everything", []string{"--etcd", "http://a:2379,http://b:2379", "--manifests", "/m", "--service-cidr", "10.96.0.0/16,fd00:96::/112",
			"--nodeport-range", "31000-31999", "--loadbalancer-pool", "203.0.113.0/28,198.51.100.1-198.51.100.9",
			"--external-ip-cidrs", "192.0.2.0/24", "--name", "c1", "--prefix", "/x", "--ttl", "3s"}, ""},
		{"no etcd", []string{"--manifests", "/m"}, "--etcd"},
		{"no manifests", []string{"--etcd", "http://e"}, "--manifests"},
		{"host bits", []string{"--etcd", "http://e", "--manifests", "/m", "--service-cidr", "10.96.0.1/16"}, "-service-cidr"},
		{"bad pool", []string{"--etcd", "http://e", "--manifests", "/m", "--loadbalancer-pool", "nope"}, "-loadbalancer-pool"},
		{"bad port range", []string{"--etcd", "http://e", "--manifests", "/m", "--nodeport-range", "9-1"}, "bad flag"},
		{"argument", []string{"--etcd", "http://e", "--manifests", "/m", "extra"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("controller", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := parseFlags(fs, tc.args)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("parseFlags(%q) = %v", tc.args, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("parseFlags(%q) = %v; want an error with %q", tc.args, err, tc.wantErr)
			case tc.name == "everything" && (len(c.etcd) != 2 || len(c.serviceCIDRs) != 2 || len(c.lbPool) != 2 || c.ttl != 3*time.Second):
				t.Errorf("parseFlags(%q) = %+v", tc.args, c)
			}
		})
	}
}

const webYAML = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
`

// run wires the manifests watch, the replica and /healthz: a Service in
// the directory ends up published in etcd with its addresses, and /healthz
// says the only replica leads.
func TestRunPublishesManifests(t *testing.T) {
	e, err := embedded.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(webYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	metrics := l.Addr().String()
	l.Close()
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	cfg, err := parseFlags(fs, []string{"--etcd", e.Endpoint(), "--manifests", dir, "--name", "c1",
		"--loadbalancer-pool", "203.0.113.10-203.0.113.20", "--metrics-listen", metrics})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	cli, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var web resolved.Service
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := cli.Get(ctx, replica.ServicesKey(replica.DefaultPrefix)+"default/web", clientv3.WithLimit(1))
		if err == nil && len(resp.Kvs) == 1 {
			if web, err = resolved.UnmarshalService(resp.Kvs[0].Value); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("default/web not published after 10s")
		}
	}
	if len(web.ClusterIPs) != 1 || len(web.LoadBalancerIPs) != 1 || web.Ports[0].NodePort == 0 {
		t.Errorf("web published as %+v; want a ClusterIP, a LoadBalancer address and a node port", web)
	}
	resp, err := http.Get("http://" + metrics + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "leader" {
		t.Errorf("/healthz = %d %q; want 200 leader", resp.StatusCode, body)
	}
}
