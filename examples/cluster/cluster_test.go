package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/svcnet/svcnet/examples/internal/world"
	"github.com/svcnet/svcnet/resolved"
)

// TestMain runs the tests inside private namespaces (world.Enter); without
// namespaces they are skipped, except under CI, where they fail.
func TestMain(m *testing.M) { world.RunTests(m) }

func startCluster(t *testing.T, services string) *Cluster {
	t.Helper()
	var logs bytes.Buffer
	c, err := Start(context.Background(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})), services)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	return c
}

// Two nodes whose proxies follow one etcd serve one cluster: the same
// addresses, node ports and DNS answers on both, pods on one node reached
// from the other, a pod added later reached too, and a controller that
// dies replaced by its standby within the lease-derived bound.
func TestTwoNodesFollowingOneEtcd(t *testing.T) {
	c := startCluster(t, servicesYAML+"---\n"+serviceYAML("shop", "NodePort"))
	ctx := context.Background()
	web, err := c.Agreed("web")
	if err != nil {
		t.Fatal(err)
	}
	shop, err := c.Agreed("shop")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("nodes agree", func(t *testing.T) { nodesAgree(t, c) })
	t.Run("DNS agrees", func(t *testing.T) {
		for _, s := range []resolved.Service{web, shop} {
			name := s.Name + ".default.svc.cluster.local"
			for _, nd := range c.Nodes {
				got, err := lookup(ctx, c.Client, nd.Gateway, name)
				if err != nil || got != s.ClusterIPs[0] {
					t.Errorf("%s's DNS: %s = %v, %v; want %s", nd.Name, name, got, err, s.ClusterIPs[0])
				}
			}
		}
	})
	t.Run("ClusterIP from node-a reaches node-b's pods", func(t *testing.T) {
		counts, err := spread(ctx, c.Client, netip.AddrPortFrom(web.ClusterIPs[0], 80), 20)
		if err != nil || counts["pod-b1"] == 0 || counts["pod-b2"] == 0 {
			t.Errorf("20 connections to web: %v, %v; want both of node-b's pods", counts, err)
		}
	})
	t.Run("NodePort on either node", func(t *testing.T) {
		np := shop.Ports[0].NodePort
		for _, nd := range c.Nodes {
			dst := netip.AddrPortFrom(nd.LinkIP, np)
			if pod, err := c.Client.ask(ctx, dst); err != nil || c.Pods[pod] == nil {
				t.Errorf("node-a's client to %s's NodePort %s: %q, %v; want a pod", nd.Name, dst, pod, err)
			}
		}
	})
	t.Run("pod added on node-b reached from node-a", func(t *testing.T) {
		if err := c.AddPod("pod-b3", c.Nodes[1]); err != nil {
			t.Fatal(err)
		}
		dst := netip.AddrPortFrom(web.ClusterIPs[0], 80)
		err := waitUntil(ctx, 15*time.Second, "pod-b3 to answer web from node-a", func() bool {
			pod, err := c.Client.ask(ctx, dst)
			return err == nil && pod == "pod-b3"
		})
		if err != nil {
			t.Error(err)
		}
	})
	t.Run("standby takes over within the lease bound", func(t *testing.T) { standbyTakesOver(t, c, web) })
	t.Run("nodes keep serving while etcd is down", func(t *testing.T) { etcdOutage(t, c, web) })
	if err := c.Err(); err != nil {
		t.Errorf("background: %v", err)
	}
}

// nodesAgree checks that both nodes hold the same Services with the same
// addresses and ports, none claimed twice.
func nodesAgree(t *testing.T, c *Cluster) {
	t.Helper()
	a, b := c.Synced(0), c.Synced(1)
	if a == nil || b == nil || len(a.Services) != len(b.Services) {
		t.Fatalf("node states differ in size: %v / %v", a, b)
	}
	seen := map[netip.Addr]string{}
	for i := range a.Services {
		x, y := a.Services[i], b.Services[i]
		if x.Ref() != y.Ref() || !sameAddresses(*x, *y) {
			t.Errorf("node-a has %s %v %v, node-b %s %v %v", x.Ref(), x.ClusterIPs, x.Ports, y.Ref(), y.ClusterIPs, y.Ports)
		}
		for _, ip := range x.ClusterIPs {
			if other, ok := seen[ip]; ok {
				t.Errorf("ClusterIP %s given to %s and %s", ip, other, x.Ref())
			}
			seen[ip] = x.Ref().String()
		}
	}
}

func standbyTakesOver(t *testing.T, c *Cluster, web resolved.Service) {
	leader := c.Leader()
	if leader == nil {
		t.Fatal("no controller leads")
	}
	killed := time.Now()
	c.Kill(leader)
	if err := c.WriteManifest("api.yaml", serviceYAML("api", "NodePort")); err != nil {
		t.Fatal(err)
	}
	api, err := c.Agreed("api")
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(killed)
	// The bound the controller documents for a leader that dies: the lease
	// TTL, etcd's lease check (500 ms), a restore and one publish. Compared
	// with a generous multiple of the TTL, so a slow machine does not fail
	// it while a takeover that waits for anything but the lease does.
	bound := 3 * ttl
	t.Logf("killed %s: api on both nodes %v later (lease %v, bound %v)", leader.Name, took, ttl, bound)
	if took > bound {
		t.Errorf("takeover took %v; want within %v (3 × the %v lease)", took, bound, ttl)
	}
	if c.Leader() == nil || c.Leader() == leader {
		t.Errorf("leader after the kill: %v; want the standby", c.Leader())
	}
	if w, _ := c.Agreed("web"); !sameAddresses(w, web) {
		t.Errorf("web %v after the takeover; was %v", w.ClusterIPs, web.ClusterIPs)
	}
	nodesAgree(t, c)
	if pod, err := c.Client.ask(context.Background(), netip.AddrPortFrom(api.ClusterIPs[0], 80)); err != nil || c.Pods[pod] == nil {
		t.Errorf("api from node-a: %q, %v", pod, err)
	}
}

// The demo itself, as the README runs it.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, &out, io.Discard); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"crossed to node-b", "led", "new Service api got ClusterIP", "cleaned up"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

// etcdOutage stops etcd: both nodes keep their rules and DNS and say that
// etcd is unreachable; once it is back they catch up with a Service added
// meanwhile to the manifests.
func etcdOutage(t *testing.T, c *Cluster, web resolved.Service) {
	ctx := context.Background()
	c.Etcd.Stop()
	err := waitUntil(ctx, 20*time.Second, "both nodes to report etcd unreachable", func() bool {
		for _, p := range c.Proxies {
			if ok, why := p.Health().OK(); ok || !strings.Contains(why, "etcd") {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range c.Nodes {
		if got, err := lookup(ctx, c.Client, nd.Gateway, "web.default.svc.cluster.local"); err != nil || got != web.ClusterIPs[0] {
			t.Errorf("%s's DNS with etcd down: %v, %v; want %s", nd.Name, got, err, web.ClusterIPs[0])
		}
	}
	if pod, err := c.Client.ask(ctx, netip.AddrPortFrom(web.ClusterIPs[0], 80)); err != nil || c.Pods[pod] == nil {
		t.Errorf("web with etcd down: %q, %v; want a pod", pod, err)
	}
	if err := c.WriteManifest("late.yaml", serviceYAML("late", "ClusterIP")); err != nil {
		t.Fatal(err)
	}
	if err := c.Etcd.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Agreed("late"); err != nil {
		t.Fatal(err)
	}
	err = waitUntil(ctx, 20*time.Second, "both nodes healthy again", func() bool {
		for _, p := range c.Proxies {
			if ok, _ := p.Health().OK(); !ok {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Error(err)
	}
	nodesAgree(t, c)
}
