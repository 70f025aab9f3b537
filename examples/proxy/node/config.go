package node

import (
	"flag"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/dnsname"
)

// Config is the node's configuration. Build it with ParseFlags or by hand;
// zero fields take the defaults ParseFlags documents.
type Config struct {
	Manifests             string         // directory of YAML manifests; required
	NetNS                 string         // name (from `ip netns add`) or path; empty means the current namespace
	NodeName              string         // this node's name; empty means Local policies match no endpoint
	ServiceCIDRs          []netip.Prefix // zero means 10.96.0.0/16
	NodePortMin           uint16         // zero (with NodePortMax) means 30000-32767
	NodePortMax           uint16
	ClusterCIDRs          []netip.Prefix        // zero means 10.244.0.0/16
	Zone                  string                // DNS zone; empty means cluster.local
	DNSListen             string                // empty disables DNS
	MetricsListen         string                // empty disables metrics
	LBPool                []allocator.AddrRange // empty means LoadBalancer services get no ingress address
	StateFile             string                // empty means Manifests/.svcnet-state.json
	PodRecords            dnsname.PodMode       // zero means none; the flag defaults to insecure, as kubeadm's CoreDNS
	DryRun, Once, Cleanup bool
}

// Defaults for flags, as Kubernetes sets them.
const (
	DefaultServiceCIDR   = "10.96.0.0/16"
	DefaultClusterCIDR   = "10.244.0.0/16"
	DefaultNodePortRange = "30000-32767"
	DefaultZone          = "cluster.local"
	DefaultDNSListen     = "127.0.0.1:1053"
	DefaultMetricsListen = "127.0.0.1:10249"
	StateFileName        = ".svcnet-state.json"
)

// ParseFlags parses the proxy's command line into a Config.
func ParseFlags(fs *flag.FlagSet, args []string) (Config, error) {
	var c Config
	var svc, cluster, npr, pool, podRecords string
	fs.StringVar(&c.Manifests, "manifests", "", "directory of YAML manifests (required)")
	fs.StringVar(&c.NetNS, "netns", "", "network namespace to program: a name made with 'ip netns add', or a path (default: current)")
	fs.StringVar(&c.NodeName, "node", "", "this node's name (for Local traffic policies and NodePorts)")
	fs.StringVar(&svc, "service-cidr", DefaultServiceCIDR, "service CIDRs, comma-separated for dual stack")
	fs.StringVar(&npr, "nodeport-range", DefaultNodePortRange, "node port range")
	fs.StringVar(&cluster, "cluster-cidr", DefaultClusterCIDR, "pod CIDRs, to tell on- from off-cluster traffic")
	fs.StringVar(&c.Zone, "zone", DefaultZone, "DNS zone")
	fs.StringVar(&c.DNSListen, "dns-listen", DefaultDNSListen, "DNS server address, opened inside the target namespace of --netns (empty disables)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", DefaultMetricsListen, "metrics and /healthz address, opened in the namespace the proxy runs in, not --netns (empty disables)")
	fs.StringVar(&pool, "loadbalancer-pool", "", "addresses for LoadBalancer services, CIDRs or start-end ranges, comma-separated")
	fs.StringVar(&c.StateFile, "state", "", "allocation state (default: DIR/"+StateFileName+")")
	fs.StringVar(&podRecords, "pod-records", "insecure", "pod names a-b-c-d.NS.pod.ZONE: disabled, insecure (any address), or verified (addresses of known pods)")
	fs.BoolVar(&c.DryRun, "dry-run", false, "load, allocate, render: print the nftables ruleset and the DNS records, exit")
	fs.BoolVar(&c.Once, "once", false, "sync once, print the addresses assigned, and exit (rules stay)")
	fs.BoolVar(&c.Cleanup, "cleanup", false, "remove our rules from the namespace and exit")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", ErrBadFlag, fs.Arg(0))
	}
	var err error
	if c.ServiceCIDRs, err = ParsePrefixes(svc); err != nil {
		return c, fmt.Errorf("--service-cidr: %w", err)
	}
	if len(c.ServiceCIDRs) == 0 || len(c.ServiceCIDRs) > 2 || len(c.ServiceCIDRs) == 2 && c.ServiceCIDRs[0].Addr().Is4() == c.ServiceCIDRs[1].Addr().Is4() {
		return c, fmt.Errorf("--service-cidr %q: %w: want one CIDR or one of each family", svc, ErrBadFlag)
	}
	if c.ClusterCIDRs, err = ParsePrefixes(cluster); err != nil {
		return c, fmt.Errorf("--cluster-cidr: %w", err)
	}
	if c.NodePortMin, c.NodePortMax, err = ParsePortRange(npr); err != nil {
		return c, fmt.Errorf("--nodeport-range: %w", err)
	}
	if c.LBPool, err = ParsePool(pool); err != nil {
		return c, fmt.Errorf("--loadbalancer-pool: %w", err)
	}
	if c.PodRecords, err = ParsePodRecords(podRecords); err != nil {
		return c, fmt.Errorf("--pod-records: %w", err)
	}
	if c.Manifests == "" && !c.Cleanup {
		return c, fmt.Errorf("--manifests: %w: required", ErrBadFlag)
	}
	c.setDefaults()
	return c, nil
}

func (c *Config) setDefaults() {
	if len(c.ServiceCIDRs) == 0 {
		c.ServiceCIDRs = []netip.Prefix{netip.MustParsePrefix(DefaultServiceCIDR)}
	}
	if len(c.ClusterCIDRs) == 0 {
		c.ClusterCIDRs = []netip.Prefix{netip.MustParsePrefix(DefaultClusterCIDR)}
	}
	if c.NodePortMin == 0 && c.NodePortMax == 0 {
		c.NodePortMin, c.NodePortMax = 30000, 32767
	}
	if c.Zone == "" {
		c.Zone = DefaultZone
	}
	if c.StateFile == "" && c.Manifests != "" {
		c.StateFile = filepath.Join(c.Manifests, StateFileName)
	}
}

// ParsePodRecords parses a pod-record mode as CoreDNS's "pods" option
// spells it: disabled, insecure or verified.
func ParsePodRecords(s string) (dnsname.PodMode, error) {
	switch s {
	case "disabled":
		return dnsname.PodsDisabled, nil
	case "insecure":
		return dnsname.PodsInsecure, nil
	case "verified":
		return dnsname.PodsVerified, nil
	}
	return 0, fmt.Errorf("%w: %q: want disabled, insecure or verified", ErrBadFlag, s)
}

// ParsePrefixes parses a comma-separated list of CIDRs; empty gives none.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range splitList(s) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is not a CIDR", ErrBadFlag, f)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%w: %q has host bits set (want %s)", ErrBadFlag, f, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// ParsePortRange parses "min-max" (or a single port), as the allocator
// does, and rejects port 0, which no service can use.
func ParsePortRange(s string) (lo, hi uint16, err error) {
	lo, hi, err = allocator.ParsePortRange(strings.TrimSpace(s))
	if err != nil || lo == 0 {
		return 0, 0, fmt.Errorf("%w: %q is not a port range like 30000-32767", ErrBadFlag, s)
	}
	return lo, hi, nil
}

// ParsePool parses a comma-separated list of CIDRs and start-end ranges.
// A CIDR counts every address in it, network and broadcast included, as
// MetalLB does.
func ParsePool(s string) ([]allocator.AddrRange, error) {
	var out []allocator.AddrRange
	for _, f := range splitList(s) {
		r, err := allocator.ParseAddrRange(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadFlag, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
