package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/dnsserver"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/nodeagent"
)

// Defaults of Config's zero values, as Kubernetes sets them.
const (
	DefaultServiceCIDR = "10.96.0.0/16"
	DefaultClusterCIDR = "10.244.0.0/16"
	DefaultDNSZone     = "cluster.local"
	// StateFileName is the state file's name inside the manifests
	// directory when Config.StateFile is empty; the manifests loader
	// skips it, as it skips every hidden file.
	StateFileName = ".svcnet-state.json"
	// DefaultTable is the nftables table the proxy owns.
	DefaultTable = "svcnet"
)

// ErrConfig is returned by New for a configuration it cannot run.
var ErrConfig = errors.New("proxy: invalid configuration")

// Config configures a Proxy. It holds no command-line concerns (dry runs,
// one-shot syncs): those are the caller's, built from New, Proxy.Resolve and
// Proxy.Run. Every zero value is documented.
type Config struct {
	// Manifests configures the manifests directory the control plane
	// reads (Dir, size limits, debounce, ExternalIPCIDRs). Its
	// ExternalIPCIDRs are also the control plane's admission list for
	// spec.externalIPs. Dir is required unless Delivery is set.
	Manifests manifests.Config
	// Delivery, when set, is where the node agent gets resolved state
	// (etcd, another process): no control plane runs in this process,
	// and Manifests, ServiceCIDRs' allocation, NodePortRange, LBPool,
	// StateFile and GracePeriod are not used. Zero means both parts run
	// here, the control plane reading Manifests.
	Delivery nodeagent.Delivery

	// NetNS is the network namespace to program and serve DNS in:
	// a name made with `ip netns add` (under /run/netns) or a path.
	// Zero means the caller's namespace.
	NetNS string
	// Table is our nftables table. Zero means DefaultTable.
	Table string
	// Node is this node's name, for Local traffic policies and node
	// hints. Zero means a node without local endpoints.
	Node string
	// NodeZone is this node's topology zone, for zone hints. Zero means
	// the zone label of the Node manifest named Node, read once at
	// start, or none.
	NodeZone string
	// ServiceCIDRs are the ClusterIP ranges, at most one per family,
	// primary first. Zero means DefaultServiceCIDR.
	ServiceCIDRs []netip.Prefix
	// NodePortRange is "lo-hi". Zero means allocator.DefaultNodePortRange.
	NodePortRange string
	// ClusterCIDRs are the pod ranges, to tell on- from off-cluster
	// traffic. Zero means DefaultClusterCIDR.
	ClusterCIDRs []netip.Prefix
	// LBPool holds the LoadBalancer addresses. Zero means LoadBalancer
	// services get none.
	LBPool []allocator.AddrRange
	// StateFile keeps the allocations across restarts, replaced
	// atomically after every change. Zero means StateFileName in
	// Manifests.Dir; "-" means allocations live only in memory.
	StateFile string
	// GracePeriod is how long a service that disappeared keeps its
	// addresses. Zero means allocator.DefaultGracePeriod.
	GracePeriod time.Duration

	// DNSZone is the cluster domain. Zero means DefaultDNSZone.
	DNSZone string
	// PodRecords selects pod DNS records. Zero means none. Verified
	// records answer for the pods in the manifests, so in node-only mode
	// (no manifests here) they answer for none.
	PodRecords dnsname.PodMode
	// DNSListen is the DNS server's address, opened inside NetNS.
	// Zero means no DNS server.
	DNSListen string
	// DNS configures the DNS server (upstreams, limits); its OnAnswer is
	// chained after the proxy's metrics. Zero means dnsserver's defaults.
	DNS dnsserver.Config
	// MetricsListen is where /metrics and /healthz are served, opened in
	// the caller's namespace, not NetNS. Zero means none (Proxy.Handler
	// still serves them).
	MetricsListen string

	// Logger receives what an operator should know. Zero means discard.
	Logger *slog.Logger
}

// withDefaults returns c with its zero values filled in and checked.
func (c Config) withDefaults() (Config, error) {
	if c.Delivery == nil && c.Manifests.Dir == "" {
		return c, fmt.Errorf("%w: a manifests directory or a delivery is required", ErrConfig)
	}
	return c.filled(), nil
}

// filled returns c with its zero values filled in.
func (c Config) filled() Config {
	if len(c.ServiceCIDRs) == 0 {
		c.ServiceCIDRs = []netip.Prefix{netip.MustParsePrefix(DefaultServiceCIDR)}
	}
	if len(c.ClusterCIDRs) == 0 {
		c.ClusterCIDRs = []netip.Prefix{netip.MustParsePrefix(DefaultClusterCIDR)}
	}
	if c.NodePortRange == "" {
		c.NodePortRange = allocator.DefaultNodePortRange
	}
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.DNSZone == "" {
		c.DNSZone = DefaultDNSZone
	}
	if c.StateFile == "" && c.Delivery == nil {
		c.StateFile = filepath.Join(c.Manifests.Dir, StateFileName)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// NetNSPath returns the path of a namespace given as `ip netns` knows it
// (a name, kept under /run/netns) or as a path (anything with a slash).
func NetNSPath(spec string) string {
	if spec == "" || strings.ContainsRune(spec, '/') {
		return spec
	}
	return filepath.Join("/run/netns", spec)
}
