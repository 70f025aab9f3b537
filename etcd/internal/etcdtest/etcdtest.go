// Package etcdtest starts real etcd servers in-process, on loopback ports with their
// data in a directory the caller owns, for the etcd module's tests, examples and
// benchmarks. Nothing here is mocked: every member is go.etcd.io/etcd/server/v3/embed.
package etcdtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Config tunes a cluster. The zero value is a cluster for tests: 1 member, fsync off,
// a 50 ms heartbeat and a 500 ms election timeout.
type Config struct {
	// Members is the number of members. Zero means 1.
	Members int
	// Fsync makes each member fsync its log as a production etcd does. Zero (false)
	// skips fsync: a test's data dir only has to survive a clean stop.
	Fsync bool
	// TickMs is the heartbeat interval. Zero means 50.
	TickMs uint
	// ElectionMs is the election timeout. Zero means 500.
	ElectionMs uint
}

// Cluster is a running set of embedded etcd members. Its methods are safe for
// concurrent use.
type Cluster struct {
	cfg     Config
	mu      sync.Mutex // protects members' etcd fields
	members []*member
	token   string
}

type member struct {
	name       string
	dir        string
	peer       url.URL
	client     url.URL
	etcd       *embed.Etcd // nil while stopped
	everSeeded bool
}

// New starts a cluster whose members keep their data under dir and waits until it
// has a leader. Close it when done.
func New(dir string, cfg Config) (*Cluster, error) {
	if cfg.Members == 0 {
		cfg.Members = 1
	}
	if cfg.TickMs == 0 {
		cfg.TickMs = 50
	}
	if cfg.ElectionMs == 0 {
		cfg.ElectionMs = 500
	}
	c := &Cluster{cfg: cfg, token: fmt.Sprintf("svcnet-%d", time.Now().UnixNano())}
	for i := range cfg.Members {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		c.members = append(c.members, &member{
			name:   fmt.Sprintf("m%d", i),
			dir:    filepath.Join(dir, fmt.Sprintf("m%d", i)),
			peer:   url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[0])},
			client: url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[1])},
		})
	}
	if err := c.startAll(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Start is New for a test: the data lives in tb.TempDir() and the cluster is closed
// when the test ends.
func Start(tb testing.TB, cfg Config) *Cluster {
	tb.Helper()
	c, err := New(tb.TempDir(), cfg)
	if err != nil {
		tb.Fatalf("etcdtest: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// freePorts reserves n loopback ports by listening on port 0 and closing again.
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
			return nil, fmt.Errorf("etcdtest: reserve port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (c *Cluster) initialCluster() string {
	var parts []string
	for _, m := range c.members {
		parts = append(parts, m.name+"="+m.peer.String())
	}
	return strings.Join(parts, ",")
}

func (c *Cluster) embedConfig(m *member) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = m.dir
	cfg.ListenPeerUrls = []url.URL{m.peer}
	cfg.AdvertisePeerUrls = []url.URL{m.peer}
	cfg.ListenClientUrls = []url.URL{m.client}
	cfg.AdvertiseClientUrls = []url.URL{m.client}
	cfg.InitialCluster = c.initialCluster()
	cfg.InitialClusterToken = c.token
	cfg.ClusterState = embed.ClusterStateFlagNew
	if m.everSeeded {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	cfg.TickMs = c.cfg.TickMs
	cfg.ElectionMs = c.cfg.ElectionMs
	cfg.UnsafeNoFsync = !c.cfg.Fsync
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.Logger = "zap"
	return cfg
}

// startAll starts every stopped member at once (members of a new cluster wait for
// each other) and waits for each to be ready.
func (c *Cluster) startAll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(c.members))
	for i, m := range c.members {
		if m.etcd != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.startLocked(m)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Cluster) startLocked(m *member) error {
	e, err := embed.StartEtcd(c.embedConfig(m))
	if err != nil {
		return fmt.Errorf("etcdtest: start %s: %w", m.name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("etcdtest: %s: %w", m.name, err)
	case <-time.After(60 * time.Second):
		e.Close()
		return fmt.Errorf("etcdtest: %s not ready after 60s", m.name)
	}
	m.etcd, m.everSeeded = e, true
	return nil
}

// Endpoints returns every member's client URL, running or not.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.client.String())
	}
	return eps
}

// Endpoint returns member i's client URL.
func (c *Cluster) Endpoint(i int) string { return c.members[i].client.String() }

// Client returns a new client to the given endpoints (every member's when none are
// given). The caller closes it.
func (c *Cluster) Client(endpoints ...string) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		endpoints = c.Endpoints()
	}
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
}

// TestClient is Client for a test: it fails the test on error and closes the
// client when the test ends.
func (c *Cluster) TestClient(tb testing.TB, endpoints ...string) *clientv3.Client {
	tb.Helper()
	cli, err := c.Client(endpoints...)
	if err != nil {
		tb.Fatalf("etcdtest: client: %v", err)
	}
	tb.Cleanup(func() { cli.Close() })
	return cli
}

// Stop stops member i gracefully (a leader hands its leadership over first).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.members[i]; m.etcd != nil {
		m.etcd.Close()
		m.etcd = nil
	}
}

// Kill stops member i abruptly: its raft node halts at once, with no leadership
// transfer, as a crashed process would.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.members[i]; m.etcd != nil {
		m.etcd.Server.HardStop()
		m.etcd.Close()
		m.etcd = nil
	}
}

// Restart starts stopped member i again from its data dir.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[i]
	if m.etcd != nil {
		return nil
	}
	return c.startLocked(m)
}

// StopAll stops every member; RestartAll brings them back from their data dirs.
func (c *Cluster) StopAll() {
	for i := range c.members {
		c.Stop(i)
	}
}

// RestartAll starts every stopped member from its data dir and waits until each
// is ready.
func (c *Cluster) RestartAll() error { return c.startAll() }

// Leader returns the index of the member that is raft leader, or -1 when no
// running member knows one.
func (c *Cluster) Leader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.members {
		if m.etcd == nil {
			continue
		}
		lead := uint64(m.etcd.Server.Leader())
		for j, o := range c.members {
			if o.etcd != nil && uint64(o.etcd.Server.MemberID()) == lead {
				return j
			}
		}
	}
	return -1
}

// Close stops every member. The data dirs stay for the caller to remove.
func (c *Cluster) Close() { c.StopAll() }
