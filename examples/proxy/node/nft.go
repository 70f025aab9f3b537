package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"sort"
	"strings"
	"sync"
)

// tableName is the nftables table the node owns; nothing else touches it.
const tableName = "svcnet-node"

// masqMark is kube-proxy's masquerade bit.
const masqMark = "0x4000"

// NFT programs services as one inet nftables table, laid out as
// kube-proxy's nftables mode does (verdict-map dispatch, one chain per
// service port and endpoint, timeout sets for ClientIP affinity), and
// loads it with `nft -f` inside the target namespace so that each sync
// replaces the table in one kernel transaction. Build it with
// NewDataplane. Safe for concurrent use; syncs are serialised.
type NFT struct {
	ns           string
	clusterCIDRs []netip.Prefix // tell on- from off-cluster sources
	node         string         // for Local traffic policies
	log          *slog.Logger
	mu           sync.Mutex // serialises syncs
}

// NewDataplane returns the programmer for cfg's namespace (cfg.NetNS: a
// name, a path, or empty for the current one), node name and pod CIDRs.
func NewDataplane(cfg Config, log *slog.Logger) (*NFT, error) {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, fmt.Errorf("dataplane: %w", err)
	}
	h, err := OpenNetNS(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	h.Close()
	return &NFT{ns: cfg.NetNS, node: cfg.NodeName, clusterCIDRs: cfg.ClusterCIDRs, log: log}, nil
}

// Sync replaces the table with the rendering of services.
func (d *NFT) Sync(ctx context.Context, services []ServiceView) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	text, err := renderRuleset(services, d.node, d.clusterCIDRs)
	if err != nil {
		return err
	}
	// Declaring then deleting the table makes the load a replacement
	// whether or not the table exists, inside one transaction.
	return d.nft(ctx, "table inet "+tableName+"\ndelete table inet "+tableName+"\n"+text)
}

// Cleanup deletes the table.
func (d *NFT) Cleanup(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nft(ctx, "table inet "+tableName+"\ndelete table inet "+tableName+"\n")
}

// nft runs `nft -f -` with script on a thread switched into the
// namespace: the child process inherits the thread's namespace.
func (d *NFT) nft(ctx context.Context, script string) error {
	h, err := OpenNetNS(d.ns)
	if err != nil {
		return err
	}
	defer h.Close()
	var out bytes.Buffer
	err = InNetNS(h, func() error {
		cmd := exec.CommandContext(ctx, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd.Run()
	})
	if err != nil {
		return fmt.Errorf("nft -f (netns %q): %w: %s", d.ns, err, strings.TrimSpace(out.String()))
	}
	return nil
}

var _ Programmer = (*NFT)(nil)

// RenderRuleset renders services as the table NFT would load for node
// nodeName with pod CIDRs clusterCIDRs, for dry runs.
func RenderRuleset(services []ServiceView, nodeName string, clusterCIDRs []netip.Prefix) (string, error) {
	return renderRuleset(services, nodeName, clusterCIDRs)
}

type fam struct {
	v     int
	nfp   string // "ip" or "ip6"
	addrT string // "ipv4_addr" or "ipv6_addr"
}

var fams = []fam{{4, "ip", "ipv4_addr"}, {6, "ip6", "ipv6_addr"}}

func renderRuleset(services []ServiceView, nodeName string, clusterCIDRs []netip.Prefix) (string, error) {
	var b, chains, epChains strings.Builder
	elems := map[string][]string{} // map or set name → elements
	n := 0
	for i := range services {
		s := &services[i]
		if s.Type == "ExternalName" || s.Headless {
			continue
		}
		for _, p := range s.Ports {
			proto := strings.ToLower(p.Protocol)
			for _, f := range fams {
				var cips []netip.Addr
				for _, ip := range s.ClusterIPs {
					if famOf(ip) == f.v {
						cips = append(cips, ip)
					}
				}
				if len(cips) == 0 {
					continue
				}
				n++
				id := fmt.Sprintf("%d", n)
				all := usable(s.Backends(p, f.v), s.InternalLocal, nodeName)
				local := usable(s.Backends(p, f.v), true, nodeName)
				fmt.Fprintf(&chains, "\n\t# %s port %s/%d (IPv%d)\n", s.Key(), p.Protocol, p.Port, f.v)
				// Internal: ClusterIP, marked for masquerade when from off-cluster.
				fmt.Fprintf(&chains, "\tchain svc-%s {\n", id)
				if nets := prefixesOf(clusterCIDRs, f.v); nets != "" {
					fmt.Fprintf(&chains, "\t\t%s saddr != { %s } jump mark-for-masquerade\n", f.nfp, nets)
				}
				writePick(&chains, &epChains, "svc-"+id, all, s, f, proto, elems)
				chains.WriteString("\t}\n")
				// External: NodePort, LoadBalancer and external IPs.
				ext := "svc-" + id
				extEps := all
				if p.NodePort != 0 || len(s.LoadBalancerIPs) > 0 || len(s.ExternalIPs) > 0 {
					ext = "ext-" + id
					fmt.Fprintf(&chains, "\tchain ext-%s {\n", id)
					if s.ExternalLocal {
						extEps = local
						writePick(&chains, &epChains, ext, local, s, f, proto, elems)
					} else {
						chains.WriteString("\t\tjump mark-for-masquerade\n\t\tgoto svc-" + id + "\n")
					}
					chains.WriteString("\t}\n")
				}
				for _, ip := range cips {
					key := fmt.Sprintf("%s . %s . %d", ip, proto, p.Port)
					elems["service-ips-"+f.nfp] = append(elems["service-ips-"+f.nfp], key+" : goto svc-"+id)
					if len(all) == 0 {
						elems["no-endpoints-"+f.nfp] = append(elems["no-endpoints-"+f.nfp], key)
					}
				}
				for _, ip := range append(append([]netip.Addr(nil), s.LoadBalancerIPs...), s.ExternalIPs...) {
					if famOf(ip) != f.v {
						continue
					}
					key := fmt.Sprintf("%s . %s . %d", ip, proto, p.Port)
					elems["service-ips-"+f.nfp] = append(elems["service-ips-"+f.nfp], key+" : goto "+ext)
					if len(extEps) == 0 {
						elems["no-endpoints-"+f.nfp] = append(elems["no-endpoints-"+f.nfp], key)
					}
				}
				if p.NodePort != 0 {
					key := fmt.Sprintf("%s . %d", proto, p.NodePort)
					elems["service-nodeports-"+f.nfp] = append(elems["service-nodeports-"+f.nfp], key+" : goto "+ext)
					if len(extEps) == 0 {
						elems["no-endpoint-nodeports-"+f.nfp] = append(elems["no-endpoint-nodeports-"+f.nfp], key)
					}
				}
			}
		}
	}
	fmt.Fprintf(&b, "table inet %s {\n", tableName)
	for _, f := range fams {
		writeSet(&b, "service-ips-"+f.nfp, f.addrT+" . inet_proto . inet_service : verdict", true, elems)
		writeSet(&b, "service-nodeports-"+f.nfp, "inet_proto . inet_service : verdict", true, elems)
		writeSet(&b, "no-endpoints-"+f.nfp, f.addrT+" . inet_proto . inet_service", false, elems)
		writeSet(&b, "no-endpoint-nodeports-"+f.nfp, "inet_proto . inet_service", false, elems)
	}
	for _, name := range sortedKeys(elems) {
		if strings.HasPrefix(name, "affinity-") {
			t := "ipv4_addr"
			if strings.HasSuffix(name, "-6") {
				t = "ipv6_addr"
			}
			fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n\t\tflags dynamic,timeout\n\t\ttimeout %s\n\t\tsize 65535\n\t}\n", name, t, elems[name][0])
		}
	}
	b.WriteString(`	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump services
	}
	chain nat-output {
		type nat hook output priority -100; policy accept;
		jump services
	}
	chain nat-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		meta mark & ` + masqMark + ` == ` + masqMark + ` meta mark set meta mark ^ ` + masqMark + ` masquerade fully-random
	}
	chain mark-for-masquerade {
		meta mark set meta mark | ` + masqMark + `
	}
	chain services {
		ip daddr . meta l4proto . th dport vmap @service-ips-ip
		ip6 daddr . meta l4proto . th dport vmap @service-ips-ip6
		fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports-ip
		fib daddr type local ip6 daddr != ::1 meta l4proto . th dport vmap @service-nodeports-ip6
	}
	chain filter-reject {
		ip daddr . meta l4proto . th dport @no-endpoints-ip reject
		ip6 daddr . meta l4proto . th dport @no-endpoints-ip6 reject
		fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport @no-endpoint-nodeports-ip reject
		fib daddr type local ip6 daddr != ::1 meta l4proto . th dport @no-endpoint-nodeports-ip6 reject
	}
	chain filter-input {
		type filter hook input priority filter; policy accept;
		ct state new jump filter-reject
	}
	chain filter-forward {
		type filter hook forward priority filter; policy accept;
		ct state new jump filter-reject
	}
	chain filter-output {
		type filter hook output priority filter; policy accept;
		ct state new jump filter-reject
	}
`)
	b.WriteString(chains.String())
	b.WriteString(epChains.String())
	b.WriteString("}\n")
	return b.String(), nil
}

// usable applies kube-proxy's endpoint choice: with a Local policy only
// this node's endpoints; ready ones, else serving-and-terminating ones.
func usable(bs []Backend, localOnly bool, nodeName string) []Backend {
	var ready, fallback []Backend
	for _, b := range bs {
		if localOnly && b.Node != nodeName {
			continue
		}
		switch {
		case b.Ready:
			ready = append(ready, b)
		case b.Serving && b.Terminating:
			fallback = append(fallback, b)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return fallback
}

// writePick writes the rules that choose an endpoint and the endpoint
// chains; with ClientIP affinity a recent client goes back to its
// endpoint first.
func writePick(w, epw *strings.Builder, chain string, eps []Backend, s *ServiceView, f fam, proto string, elems map[string][]string) {
	if len(eps) == 0 {
		return // the filter chains reject before NAT is reached
	}
	var epChains []string
	for i := range eps {
		epChains = append(epChains, fmt.Sprintf("%s-ep%d", chain, i))
		if s.AffinityTimeout > 0 {
			set := fmt.Sprintf("affinity-%s-%d-%d", chain, i, f.v)
			elems[set] = []string{fmt.Sprintf("%ds", int(s.AffinityTimeout.Seconds()))}
			fmt.Fprintf(w, "\t\t%s saddr @%s goto %s\n", f.nfp, set, epChains[i])
		}
	}
	if len(eps) == 1 {
		fmt.Fprintf(w, "\t\tgoto %s\n", epChains[0])
	} else {
		var m []string
		for i, c := range epChains {
			m = append(m, fmt.Sprintf("%d : goto %s", i, c))
		}
		fmt.Fprintf(w, "\t\tnumgen random mod %d vmap { %s }\n", len(eps), strings.Join(m, ", "))
	}
	for i, ep := range eps {
		fmt.Fprintf(epw, "\tchain %s {\n", epChains[i])
		fmt.Fprintf(epw, "\t\t%s saddr %s jump mark-for-masquerade\n", f.nfp, ep.Addr.Addr())
		if s.AffinityTimeout > 0 {
			fmt.Fprintf(epw, "\t\tupdate @affinity-%s-%d-%d { %s saddr }\n", chain, i, f.v, f.nfp)
		}
		fmt.Fprintf(epw, "\t\tmeta l4proto %s dnat %s to %s\n\t}\n", proto, f.nfp, ep.Addr)
	}
}

func writeSet(b *strings.Builder, name, typ string, isMap bool, elems map[string][]string) {
	kind := "set"
	if isMap {
		kind = "map"
	}
	fmt.Fprintf(b, "\t%s %s {\n\t\ttype %s\n", kind, name, typ)
	if es := elems[name]; len(es) > 0 {
		fmt.Fprintf(b, "\t\telements = {\n\t\t\t%s\n\t\t}\n", strings.Join(es, ",\n\t\t\t"))
	}
	b.WriteString("\t}\n")
}

func prefixesOf(ps []netip.Prefix, v int) string {
	var out []string
	for _, p := range ps {
		if famOf(p.Addr()) == v {
			out = append(out, p.String())
		}
	}
	return strings.Join(out, ", ")
}

func sortedKeys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
