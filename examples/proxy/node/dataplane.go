package node

import (
	"context"
	"log/slog"

	"github.com/svcnet/svcnet/dataplane"
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

// Sync makes the namespace's rules match services.
func (d *Dataplane) Sync(ctx context.Context, services []ServiceView) error {
	return d.dp.Sync(ctx, ServicePorts(services, d.node))
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
				for _, b := range s.Backends(p, fam) {
					sp.Endpoints = append(sp.Endpoints, dataplane.Endpoint{
						Addr: b.Addr, Ready: b.Ready, Serving: b.Serving, Terminating: b.Terminating,
						Local: node != "" && b.Node == node, Zone: b.Zone,
					})
				}
			}
			out = append(out, sp)
		}
	}
	return out
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
