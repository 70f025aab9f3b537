package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"
)

// UDP has no connection to close: a client that keeps its socket keeps its
// conntrack entry, and with it the endpoint its first packet was sent to,
// after the rules stopped sending anyone there. As kube-proxy does, a sync
// that removes a UDP endpoint or frontend deletes the flows DNATed through
// it. TCP needs nothing: a removed endpoint's connections end with it.

// flowKey names stale flows: those DNATed from front (a service address and
// port, or for a NodePort the zero address and the port) to ep, or with the
// zero ep, every flow DNATed from front.
type flowKey struct{ front, ep netip.AddrPort }

// frontsOf lists where a service port receives traffic.
func frontsOf(sp *ServicePort) []netip.AddrPort {
	var fs []netip.AddrPort
	for _, list := range [][]netip.Addr{sp.ClusterIPs, sp.ExternalIPs, sp.LoadBalancerIPs} {
		for _, a := range list {
			fs = append(fs, netip.AddrPortFrom(a.Unmap(), sp.Port))
		}
	}
	if sp.NodePort != 0 {
		fs = append(fs, netip.AddrPortFrom(netip.Addr{}, sp.NodePort))
	}
	return fs
}

// staleUDP adds to stale what replacing old by now (nil when the service
// port is gone) leaves stale.
func staleUDP(stale map[flowKey]bool, old, now *ServicePort) {
	if old.Protocol != UDP {
		return
	}
	keep := map[netip.AddrPort]bool{}
	eps := map[netip.AddrPort]bool{}
	if now != nil && now.Protocol == UDP {
		for _, f := range frontsOf(now) {
			keep[f] = true
		}
		for _, e := range slices.Concat(now.Endpoints, now.LocalEndpoints) {
			eps[unmapAP(e.Addr)] = true
		}
	}
	for _, f := range frontsOf(old) {
		if !keep[f] {
			stale[flowKey{front: f}] = true
			continue
		}
		for _, e := range slices.Concat(old.Endpoints, old.LocalEndpoints) {
			if ep := unmapAP(e.Addr); !eps[ep] {
				stale[flowKey{f, ep}] = true
			}
		}
	}
}

func unmapAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// isStale tells whether a UDP flow was DNATed through something stale.
func isStale(stale map[flowKey]bool, f *conntrack.Flow) bool {
	o, r := f.TupleOrig, f.TupleReply
	if o.Proto.Protocol != unix.IPPROTO_UDP {
		return false
	}
	dst := netip.AddrPortFrom(o.IP.DestinationAddress.Unmap(), o.Proto.DestinationPort)
	ep := netip.AddrPortFrom(r.IP.SourceAddress.Unmap(), r.Proto.SourcePort)
	if ep == dst {
		return false // not DNATed: none of ours
	}
	node := netip.AddrPortFrom(netip.Addr{}, dst.Port())
	return stale[flowKey{front: dst}] || stale[flowKey{dst, ep}] ||
		stale[flowKey{front: node}] || stale[flowKey{node, ep}]
}

// clearConntrack deletes the stale flows in the namespace and returns how
// many it deleted. A flow that ends by itself meanwhile is not an error.
func (d *Dataplane) clearConntrack(stale map[flowKey]bool) (int, error) {
	cfg := &netlink.Config{}
	if d.ns >= 0 {
		cfg.NetNS = int(d.ns)
	}
	c, err := conntrack.Dial(cfg)
	if err != nil {
		return 0, fmt.Errorf("conntrack: %w", err)
	}
	defer c.Close()
	flows, err := c.Dump(nil)
	if err != nil {
		return 0, fmt.Errorf("conntrack dump: %w", err)
	}
	n := 0
	for i := range flows {
		if !isStale(stale, &flows[i]) {
			continue
		}
		if err := c.Delete(flows[i]); err != nil && !isNotFound(err) {
			return n, fmt.Errorf("conntrack delete %v: %w", flows[i].TupleOrig, err)
		}
		n++
	}
	return n, nil
}

func isNotFound(err error) bool { return errors.Is(err, unix.ENOENT) }
