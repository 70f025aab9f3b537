package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/dnsserver"
	"github.com/svcnet/svcnet/etcd"
	"github.com/svcnet/svcnet/examples/controller/embedded"
	"github.com/svcnet/svcnet/examples/controller/replica"
	"github.com/svcnet/svcnet/examples/internal/proxy"
	"github.com/svcnet/svcnet/examples/internal/source"
	"github.com/svcnet/svcnet/examples/internal/world"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/resolved"
)

// ttl is the controllers' election lease: a leader that dies is replaced
// within it (plus etcd's 500 ms lease check). 2 s is the least etcd grants
// at its default 1 s election timeout.
const ttl = 2 * time.Second

// podPort is where every pod serves.
const podPort = 80

// Cluster is the demo's cluster: an embedded etcd, two controller replicas
// in this process, and two node namespaces, each with a proxy that follows
// etcd and its own DNS server. Build it with Start; Close removes it all.
type Cluster struct {
	topo    *topology
	Nodes   []*node
	Client  *host // a pod on node-a
	Pods    map[string]*host
	Dir     string // the manifests the controllers read
	root    string
	Etcd    *embedded.Etcd
	Ctrl    []*controller
	Proxies []*proxy.Proxy
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // protects errs
	errs   []error    // what background parts returned
}

// controller is one control-plane replica with its own etcd client, so
// that killing it cuts exactly its connection.
type controller struct {
	*replica.Replica
	Name   string
	cli    *clientv3.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// Start builds the cluster: pods pod-b1 and pod-b2 on node-b, a client on
// node-a, the manifests for them, etcd, the controllers (controller-1 leads
// first) and one proxy per node; it returns once both nodes serve services.
func Start(ctx context.Context, log *slog.Logger, services string) (_ *Cluster, err error) {
	c := &Cluster{Pods: map[string]*host{}, log: log}
	c.ctx, c.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close())
		}
	}()
	if c.topo, err = newTopology(ctx, 2); err != nil {
		return nil, err
	}
	if world.Inside() {
		// The process's own namespace is a private one (world.Enter) whose
		// loopback starts down; etcd and its clients talk over it.
		if err := c.topo.ip(ctx, "link", "set", "lo", "up"); err != nil {
			return nil, err
		}
	}
	c.Nodes = c.topo.nodes
	if c.Client, err = c.topo.addPod(ctx, c.Nodes[0], "client", 100); err != nil {
		return nil, err
	}
	if c.root, err = os.MkdirTemp("", "svcnet-cluster-"); err != nil {
		return nil, err
	}
	c.Dir = filepath.Join(c.root, "manifests")
	if err := os.Mkdir(c.Dir, 0o755); err != nil {
		return nil, err
	}
	for _, name := range []string{"pod-b1", "pod-b2"} {
		if err := c.AddPod(name, c.Nodes[1]); err != nil {
			return nil, err
		}
	}
	if err := c.WriteManifest("services.yaml", services); err != nil {
		return nil, err
	}
	if err := c.WriteManifest("nodes.yaml", nodesYAML(c.Nodes)); err != nil {
		return nil, err
	}
	if c.Etcd, err = embedded.Start(filepath.Join(c.root, "etcd")); err != nil {
		return nil, err
	}
	if err := c.startControllers(); err != nil {
		return nil, err
	}
	for _, nd := range c.Nodes {
		if err := c.startProxy(nd); err != nil {
			return nil, err
		}
	}
	return c, c.WaitNodes("every node to serve the services", func(st *resolved.State) bool { return len(st.Services) > 0 })
}

// AddPod makes a pod on nd serving its name on podPort, and writes its
// manifest (labelled app: web, as the demo's Services select).
func (c *Cluster) AddPod(name string, nd *node) error {
	h, err := c.topo.addPod(c.ctx, nd, name, 0)
	if err != nil {
		return err
	}
	if err := h.serve(c.ctx, &c.wg, podPort, name); err != nil {
		return err
	}
	c.Pods[name] = h
	return c.WriteManifest("pod-"+name+".yaml", podYAML(name, nd.Name, h.addr))
}

// goRun runs fn in the background until the cluster closes, keeping its error.
func (c *Cluster) goRun(what string, fn func() error) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := fn(); err != nil && c.ctx.Err() == nil {
			c.mu.Lock()
			c.errs = append(c.errs, fmt.Errorf("%s: %w", what, err))
			c.mu.Unlock()
		}
	}()
}

func (c *Cluster) startControllers() error {
	latest := &manifests.Latest{}
	c.goRun("manifests watch", func() error {
		return manifests.Watch(c.ctx, manifests.Config{Dir: c.Dir}, latest.Store)
	})
	for i := range 2 {
		cli, err := c.Etcd.Client()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("controller-%d", i+1)
		r, err := replica.New(replica.Config{
			Client: cli, Name: name, TTL: ttl, Log: c.log,
			Source: &source.Manifests{Latest: latest, Log: c.log},
			NewAllocator: func() (*allocator.Services, error) {
				return allocator.NewServices(allocator.ServicesConfig{ClusterIPRanges: []netip.Prefix{netip.MustParsePrefix(proxy.DefaultServiceCIDR)}})
			},
		})
		if err != nil {
			cli.Close()
			return err
		}
		ctx, cancel := context.WithCancel(c.ctx)
		ctl := &controller{Replica: r, Name: name, cli: cli, cancel: cancel, done: make(chan struct{})}
		c.Ctrl = append(c.Ctrl, ctl)
		c.goRun(name, func() error {
			defer close(ctl.done)
			defer cli.Close()
			return r.Run(ctx)
		})
		if i == 0 { // controller-1 leads, so the story reads the same every run
			if err := waitUntil(c.ctx, 10*time.Second, name+" to lead", func() bool { return r.Health().Leader }); err != nil {
				return err
			}
		}
	}
	return nil
}

// startProxy runs the reference proxy on nd in node-only mode: it follows
// the Services published in etcd and programs nd's kernel and DNS.
func (c *Cluster) startProxy(nd *node) error {
	cli, err := c.Etcd.Client()
	if err != nil {
		return err
	}
	d := etcd.NewServiceDelivery(cli, replica.ServicesKey(replica.DefaultPrefix))
	p, err := proxy.New(proxy.Config{
		Delivery: d, NetNS: nd.path(), Node: nd.Name,
		ClusterCIDRs: []netip.Prefix{podNet},
		DNSListen:    net.JoinHostPort(nd.Gateway.String(), "53"),
		DNS:          dnsserver.Config{NoForward: true}, // nothing outside the cluster to forward to
		Logger:       c.log.With("node", nd.Name),
	})
	if err != nil {
		cli.Close()
		return err
	}
	c.Proxies = append(c.Proxies, p)
	c.goRun(nd.Name+" etcd delivery", func() error { return d.Run(c.ctx) })
	c.goRun(nd.Name+" proxy", func() error {
		defer cli.Close()
		return p.Run(c.ctx)
	})
	return nil
}

// Leader returns the controller that leads, or nil.
func (c *Cluster) Leader() *controller {
	for _, ctl := range c.Ctrl {
		if ctl.Health().Leader {
			return ctl
		}
	}
	return nil
}

// Kill stops ctl as a crash would: its etcd connection is cut first, so it
// cannot resign, and its lease stays until etcd expires it.
func (c *Cluster) Kill(ctl *controller) {
	ctl.cli.Close()
	ctl.cancel()
	<-ctl.done
}

// Synced returns node i's state once its kernel and DNS have it, else nil.
func (c *Cluster) Synced(i int) *resolved.State { return c.Proxies[i].Served() }

// WaitNodes waits until every node has synced a state that satisfies ok.
func (c *Cluster) WaitNodes(what string, ok func(*resolved.State) bool) error {
	return waitUntil(c.ctx, 15*time.Second, what, func() bool {
		for i := range c.Proxies {
			if st := c.Synced(i); st == nil || !ok(st) {
				return false
			}
		}
		return true
	})
}

// WriteManifest replaces one manifest file atomically.
func (c *Cluster) WriteManifest(name, body string) error {
	tmp := filepath.Join(c.Dir, ".tmp-"+name)
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.Dir, name))
}

// Err returns what the background parts failed with so far.
func (c *Cluster) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.errs...)
}

// Close stops everything and removes the namespaces and files.
func (c *Cluster) Close() error {
	c.cancel()
	c.wg.Wait()
	errs := []error{c.Err()}
	if c.Etcd != nil {
		c.Etcd.Close()
	}
	if c.topo != nil {
		errs = append(errs, c.topo.Close())
	}
	if c.root != "" {
		errs = append(errs, os.RemoveAll(c.root))
	}
	return errors.Join(errs...)
}

// waitUntil polls cond every 20 ms until it holds, limit passes or ctx ends.
func waitUntil(ctx context.Context, limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %v for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
