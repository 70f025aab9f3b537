package node

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/endpoints"
)

// Dataplane programs services into the target namespace's kernel through
// the dataplane package: one private nftables table, updated incrementally
// over netlink. Build it with NewDataplane; safe for concurrent use.
type Dataplane struct {
	dp   *dataplane.Dataplane
	node string
}

// NewDataplane opens the dataplane for cfg's namespace (cfg.NetNS: a
// name from `ip netns add`, a path, or empty for the current one).
func NewDataplane(cfg Config, log *slog.Logger) (*Dataplane, error) {
	cfg.setDefaults()
	dp, err := dataplane.New(dataplaneOptions(&cfg, log))
	if err != nil {
		return nil, err
	}
	return &Dataplane{dp: dp, node: cfg.NodeName}, nil
}

func dataplaneOptions(cfg *Config, log *slog.Logger) dataplane.Options {
	return dataplane.Options{
		NetNS:        netnsPath(cfg.NetNS),
		Table:        tableName,
		ClusterCIDRs: cfg.ClusterCIDRs,
		ServiceCIDRs: cfg.ServiceCIDRs,
		Logger:       log,
	}
}

// Sync makes the namespace's rules match services. A *dataplane.SyncError
// names service ports left out; everything else is programmed.
func (d *Dataplane) Sync(ctx context.Context, services []ServiceView) error {
	_, err := d.dp.Sync(ctx, ServicePorts(services, d.node))
	return err
}

// Cleanup removes our table and nothing else.
func (d *Dataplane) Cleanup(ctx context.Context) error { return d.dp.Cleanup(ctx) }

// Close releases the netlink connection; the rules stay.
func (d *Dataplane) Close() error { return d.dp.Close() }

// tableName is the nftables table the proxy owns.
const tableName = "svcnet"

// ServicePorts converts resolved services to the dataplane's input for the
// node named node: one ServicePort per service port, with the endpoints of
// both families. Headless and ExternalName services have nothing to
// program and are left out.
func ServicePorts(services []ServiceView, node string) []dataplane.ServicePort {
	var out []dataplane.ServicePort
	for i := range services {
		s := &services[i]
		if len(s.ClusterIPs) == 0 && len(s.LoadBalancerIPs) == 0 && len(s.ExternalIPs) == 0 {
			continue
		}
		for _, p := range s.Ports {
			sp := dataplane.ServicePort{
				Namespace: s.Namespace, Name: s.Name, PortName: p.Name,
				Protocol:                 protocolOf(p.Protocol),
				ClusterIPs:               s.ClusterIPs,
				Port:                     p.Port,
				NodePort:                 p.NodePort,
				ExternalIPs:              s.ExternalIPs,
				LoadBalancerIPs:          s.LoadBalancerIPs,
				LoadBalancerSourceRanges: s.SourceRanges,
				AffinityTimeout:          s.AffinityTimeout,
			}
			if s.ExternalLocal {
				sp.ExternalPolicy = dataplane.PolicyLocal
			}
			if s.InternalLocal {
				sp.InternalPolicy = dataplane.PolicyLocal
			}
			for _, fam := range []int{4, 6} {
				bs := s.Backends(p, fam)
				sp.Endpoints = appendUsable(sp.Endpoints, bs, node, endpoints.PolicyCluster)
				if node != "" && (s.ExternalLocal || s.InternalLocal) {
					sp.LocalEndpoints = appendUsable(sp.LocalEndpoints, bs, node, endpoints.PolicyLocal)
				}
			}
			out = append(out, sp)
		}
	}
	return out
}

// appendUsable appends the backends endpoints.AppendUsable picks for node
// under policy: the dataplane programs exactly what it is given.
func appendUsable(dst []dataplane.Endpoint, bs []Backend, node string, policy endpoints.TrafficPolicy) []dataplane.Endpoint {
	eps := make([]endpoints.Endpoint, len(bs))
	for i, b := range bs {
		eps[i] = endpoints.Endpoint{Address: b.Addr.Addr(), NodeName: b.Node, Zone: b.Zone,
			Conditions: endpoints.Conditions{Ready: b.Ready, Serving: b.Serving, Terminating: b.Terminating}}
	}
	use := make(map[netip.AddrPort]bool)
	for _, e := range endpoints.AppendUsable(nil, eps, node, "", policy) {
		for _, b := range bs {
			if b.Addr.Addr() == e.Address {
				use[b.Addr] = true
			}
		}
	}
	for _, b := range bs {
		if use[b.Addr] {
			dst = append(dst, dataplane.Endpoint{Addr: b.Addr})
		}
	}
	return dst
}

func protocolOf(p string) dataplane.Protocol {
	switch p {
	case "UDP":
		return dataplane.UDP
	case "SCTP":
		return dataplane.SCTP
	}
	return dataplane.TCP
}
