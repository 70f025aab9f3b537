package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/examples/controller/replica"
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
	var c config
	var endpoints, svc, pool, ext string
	host, _ := os.Hostname()
	fs.StringVar(&endpoints, "etcd", "", "etcd endpoints, comma-separated (required)")
	fs.StringVar(&c.manifests, "manifests", "", "directory of YAML manifests, watched (required)")
	fs.StringVar(&svc, "service-cidr", "10.96.0.0/16", "service CIDRs, comma-separated for dual stack")
	fs.StringVar(&c.nodePorts, "nodeport-range", allocator.DefaultNodePortRange, "node port range")
	fs.StringVar(&pool, "loadbalancer-pool", "", "addresses for LoadBalancer services, CIDRs or start-end ranges, comma-separated")
	fs.StringVar(&ext, "external-ip-cidrs", "", "CIDRs spec.externalIPs may come from, comma-separated (default: none, CVE-2020-8554)")
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
	c.etcd = split(endpoints)
	var err error
	if c.serviceCIDRs, err = prefixes(svc); err != nil {
		return c, fmt.Errorf("--service-cidr: %w", err)
	}
	if c.externalIPs, err = prefixes(ext); err != nil {
		return c, fmt.Errorf("--external-ip-cidrs: %w", err)
	}
	for _, f := range split(pool) {
		r, err := allocator.ParseAddrRange(f)
		if err != nil {
			return c, fmt.Errorf("--loadbalancer-pool: %w: %w", errFlag, err)
		}
		c.lbPool = append(c.lbPool, r)
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

func prefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range split(s) {
		p, err := netip.ParsePrefix(f)
		if err != nil || p != p.Masked() {
			return nil, fmt.Errorf("%w: %q is not a CIDR without host bits", errFlag, f)
		}
		out = append(out, p)
	}
	return out, nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
