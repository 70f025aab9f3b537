package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/examples/internal/flagx"
	"github.com/svcnet/svcnet/examples/internal/proxy"
)

// mode is what the command does besides serving.
type mode struct {
	dryRun, once, cleanup bool
	etcd                  etcdMode
}

// errUsage marks a bad command line (exit code 2).
var errUsage = errors.New("usage")

// flagText holds the flags that need parsing after flag.Parse.
type flagText struct {
	podRecords string
}

// defineFlags defines the proxy's flags on fs, filling cfg and m when fs
// parses; the returned text is converted by finish.
func defineFlags(fs *flag.FlagSet, cfg *proxy.Config, m *mode) *flagText {
	var t flagText
	cfg.ServiceCIDRs = []netip.Prefix{netip.MustParsePrefix(proxy.DefaultServiceCIDR)}
	cfg.ClusterCIDRs = []netip.Prefix{netip.MustParsePrefix(proxy.DefaultClusterCIDR)}
	fs.StringVar(&cfg.Manifests.Dir, "manifests", "", "directory of Kubernetes YAML manifests (Service, Pod, EndpointSlice, Node), watched for changes (required)")
	fs.StringVar(&cfg.NetNS, "netns", "", "`NAME|PATH` of the network namespace to program and serve DNS in: a name under /run/netns (ip netns list) or a path such as /proc/PID/ns/net (default: the proxy's own)")
	fs.StringVar(&cfg.Node, "node", "", "this node's `name`, for Local traffic policies and topology hints")
	fs.StringVar(&cfg.NodeZone, "node-zone", "", "this node's topology `zone`, for zone hints (default: the topology.kubernetes.io/zone label of the Node manifest named by --node)")
	fs.Var(flagx.Prefixes(&cfg.ServiceCIDRs), "service-cidr", "ClusterIP `CIDRs`, comma-separated for dual stack, primary first")
	fs.StringVar(&cfg.NodePortRange, "nodeport-range", allocator.DefaultNodePortRange, "node port `range`")
	fs.Var(flagx.Prefixes(&cfg.ClusterCIDRs), "cluster-cidr", "pod `CIDRs`, comma-separated, to tell on- from off-cluster traffic")
	fs.StringVar(&cfg.DNSZone, "zone", proxy.DefaultDNSZone, "cluster DNS `zone` (the DNS domain, not the topology zone: see --node-zone)")
	fs.StringVar(&cfg.DNSListen, "dns-listen", "127.0.0.1:1053", "DNS server `address`, opened inside the --netns namespace (empty disables)")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "127.0.0.1:10249", "/metrics and /healthz `address`, opened in the namespace the proxy runs in, NOT inside --netns (empty disables)")
	fs.Var(flagx.AddrRanges(&cfg.LBPool), "loadbalancer-pool", "LoadBalancer `addresses`: CIDRs or start-end ranges, comma-separated (default: none)")
	fs.Var(flagx.Prefixes(&cfg.Manifests.ExternalIPCIDRs), "external-ip-cidrs", "`CIDRs` that spec.externalIPs may come from, comma-separated (default: none, as Kubernetes' DenyServiceExternalIPs: an external IP lets a tenant capture others' traffic, CVE-2020-8554)")
	fs.StringVar(&cfg.StateFile, "state", "", "allocation state `file`, replaced atomically after every change (default: DIR/"+proxy.StateFileName+")")
	fs.DurationVar(&cfg.GracePeriod, "grace-period", allocator.DefaultGracePeriod, "how long a service that disappeared from the manifests keeps its addresses")
	fs.StringVar(&t.podRecords, "pod-records", "insecure", "pod names a-b-c-d.NS.pod.ZONE: disabled, insecure (any address), or verified (addresses of known pods)")
	fs.BoolVar(&m.dryRun, "dry-run", false, "load and resolve the manifests, print the nftables ruleset and the DNS records, and exit (touches neither the kernel nor the state file)")
	fs.BoolVar(&m.once, "once", false, "sync once, print the addresses and ports assigned, and exit (the rules stay)")
	fs.BoolVar(&m.cleanup, "cleanup", false, "remove the proxy's nftables table from the namespace and exit")
	m.etcd.define(fs)
	return &t
}

// finish converts the text flags into cfg and checks the combination.
func (t *flagText) finish(fs *flag.FlagSet, cfg *proxy.Config, m mode) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	var err error
	if cfg.PodRecords, err = parsePodRecords(t.podRecords); err != nil {
		return err
	}
	if err := m.etcd.check(cfg, m); err != nil {
		return err
	}
	if cfg.Manifests.Dir == "" && !m.cleanup && cfg.Delivery == nil && !m.etcd.enabled() {
		return fmt.Errorf("%w: --manifests is required", errUsage)
	}
	return nil
}

func parsePodRecords(s string) (dnsname.PodMode, error) {
	switch s {
	case "disabled":
		return dnsname.PodsDisabled, nil
	case "insecure":
		return dnsname.PodsInsecure, nil
	case "verified":
		return dnsname.PodsVerified, nil
	}
	return 0, fmt.Errorf("%w: --pod-records %q: want disabled, insecure or verified", errUsage, s)
}
