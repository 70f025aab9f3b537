package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/examples/controller/replica"
	"github.com/svcnet/svcnet/examples/internal/flagx"
)

// config is the controller's command line.
type config struct {
	etcd          []string
	manifests     string
	serviceCIDRs  []netip.Prefix
	nodePorts     string
	lbPool        []allocator.AddrRange
	externalIPs   []netip.Prefix
	name, prefix  string
	metricsListen string
	ttl           time.Duration
}

var errFlag = errors.New("bad flag")

// parseFlags parses args into a config; every flag has Kubernetes' default
// where Kubernetes has one.
func parseFlags(fs *flag.FlagSet, args []string) (config, error) {
	c := config{serviceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}}
	host, _ := os.Hostname()
	fs.Var(flagx.Strings(&c.etcd), "etcd", "etcd endpoints, comma-separated (required)")
	fs.StringVar(&c.manifests, "manifests", "", "directory of YAML manifests, watched (required)")
	fs.Var(flagx.Prefixes(&c.serviceCIDRs), "service-cidr", "service CIDRs, comma-separated for dual stack")
	fs.StringVar(&c.nodePorts, "nodeport-range", allocator.DefaultNodePortRange, "node port range")
	fs.Var(flagx.AddrRanges(&c.lbPool), "loadbalancer-pool", "addresses for LoadBalancer services, CIDRs or start-end ranges, comma-separated")
	fs.Var(flagx.Prefixes(&c.externalIPs), "external-ip-cidrs", "CIDRs spec.externalIPs may come from, comma-separated (default: none, CVE-2020-8554)")
	fs.StringVar(&c.name, "name", host, "this replica's name in the election; unique among replicas")
	fs.StringVar(&c.prefix, "prefix", replica.DefaultPrefix, "etcd key prefix shared by the replicas and the nodes")
	fs.StringVar(&c.metricsListen, "metrics-listen", "127.0.0.1:10257", "address of /metrics and /healthz (empty disables)")
	fs.DurationVar(&c.ttl, "ttl", replica.DefaultTTL, "election lease: a dead leader is replaced within about this long (whole seconds)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", errFlag, fs.Arg(0))
	}
	switch {
	case len(c.etcd) == 0:
		return c, fmt.Errorf("--etcd: %w: required", errFlag)
	case c.manifests == "":
		return c, fmt.Errorf("--manifests: %w: required", errFlag)
	case c.name == "":
		return c, fmt.Errorf("--name: %w: required (no hostname)", errFlag)
	}
	if _, err := c.newAllocator(); err != nil { // ranges checked now, not at the first takeover
		return c, fmt.Errorf("%w: %w", errFlag, err)
	}
	return c, nil
}

// newAllocator returns an empty allocator of the configured ranges: one per
// leadership (replica.Config.NewAllocator).
func (c *config) newAllocator() (*allocator.Services, error) {
	cfg := allocator.ServicesConfig{ClusterIPRanges: c.serviceCIDRs, NodePortRange: c.nodePorts}
	if len(c.lbPool) > 0 {
		lb, err := allocator.NewLBAllocator(allocator.Pool{Name: "default", Addresses: c.lbPool})
		if err != nil {
			return nil, fmt.Errorf("--loadbalancer-pool: %w", err)
		}
		cfg.LoadBalancer = lb
	}
	return allocator.NewServices(cfg)
}
