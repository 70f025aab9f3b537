// Package embedded runs a one-member etcd in-process on loopback, with its
// data in a directory the caller owns: the etcd of the cluster demo and of
// the controller's and the cluster's tests. It is real etcd
// (go.etcd.io/etcd/server/v3/embed), not a fake.
package embedded

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Etcd is one embedded etcd member. Build it with Start; the zero value is
// not usable. Its methods are safe for concurrent use.
type Etcd struct {
	dir            string
	peer, client   url.URL
	mu             sync.Mutex // protects e and seeded
	e              *embed.Etcd
	seeded         bool // the data dir holds a cluster: a restart joins it
	tickMs, elecMs uint
}

// Start starts a member keeping its data in dir, on two free loopback
// ports, and waits until it serves. It uses a 100 ms heartbeat and a 1 s
// election timeout, etcd's defaults, so the shortest lease etcd grants is
// 2 s. Close it when done.
func Start(dir string) (*Etcd, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	e := &Etcd{
		dir:    dir,
		peer:   url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[0])},
		client: url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[1])},
		tickMs: 100, elecMs: 1000,
	}
	return e, e.Restart()
}

// Endpoint is the member's client URL; it stays the same across restarts.
func (e *Etcd) Endpoint() string { return e.client.String() }

// Client returns a new client of the member. The caller closes it.
func (e *Etcd) Client() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   []string{e.Endpoint()},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
}

// Restart starts the member again from its data dir after Stop; it is a
// no-op while the member runs.
func (e *Etcd) Restart() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.e != nil {
		return nil
	}
	cfg := embed.NewConfig()
	cfg.Name = "svcnet"
	cfg.Dir = e.dir
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{e.peer}, []url.URL{e.peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{e.client}, []url.URL{e.client}
	cfg.InitialCluster = cfg.Name + "=" + e.peer.String()
	if e.seeded {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	cfg.TickMs, cfg.ElectionMs = e.tickMs, e.elecMs
	cfg.UnsafeNoFsync = true // a demo's data dir only has to survive a clean stop
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.Logger = "zap"
	srv, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("embedded etcd: %w", err)
	}
	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		srv.Close()
		return fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(30 * time.Second):
		srv.Close()
		return fmt.Errorf("embedded etcd: not ready after 30s")
	}
	e.e, e.seeded = srv, true
	return nil
}

// Stop stops the member; its data stays for Restart.
func (e *Etcd) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.e != nil {
		e.e.Close()
		e.e = nil
	}
}

// Close stops the member. The data dir stays for the caller to remove.
func (e *Etcd) Close() { e.Stop() }

// freePorts reserves n loopback ports by listening on port 0 and closing
// again; the member binds them right after.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("embedded etcd: reserve a port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
