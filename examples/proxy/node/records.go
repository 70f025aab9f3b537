package node

import (
	"net/netip"

	"github.com/svcnet/svcnet/dnsname"
)

// recordTTL is the TTL of every answer; CoreDNS' kubernetes plugin uses 5.
const recordTTL = 5

// dnsService converts a resolved service to what DNS publishes of it.
// Headless services publish their endpoints, each with the ports of its
// endpoint group: a headless SRV record carries the endpoint's own port,
// and endpoints may map a named port differently.
func dnsService(s *ServiceView) dnsname.Service {
	ds := dnsname.Service{
		Namespace: s.Namespace, Name: s.Name,
		ExternalName:             s.ExternalName,
		PublishNotReadyAddresses: s.PublishNotReady,
	}
	switch {
	case s.Type == "ExternalName":
		ds.Type = dnsname.ExternalName
	case s.Headless:
		ds.Type = dnsname.Headless
	default:
		ds.ClusterIPs = s.ClusterIPs
	}
	for _, p := range s.Ports {
		ds.Ports = append(ds.Ports, dnsname.Port{Name: p.Name, Protocol: dnsProtocol(p.Protocol), Port: p.Port})
	}
	if ds.Type != dnsname.Headless {
		return ds
	}
	seen := map[netip.Addr]bool{}
	for _, g := range s.Groups {
		ports := make([]dnsname.EndpointPort, len(g.Ports)) // shared by the group's endpoints
		for i, gp := range g.Ports {
			ports[i] = dnsname.EndpointPort{Name: gp.Name, Protocol: dnsname.Protocol(gp.Protocol), Port: gp.Port}
		}
		for _, ep := range g.Endpoints {
			if seen[ep.Address] {
				continue
			}
			seen[ep.Address] = true
			ds.Endpoints = append(ds.Endpoints, dnsname.Endpoint{
				Addrs: []netip.Addr{ep.Address}, Hostname: ep.Hostname, PodName: ep.TargetRef.Name,
				Ready: ep.Conditions.Ready, Ports: ports,
			})
		}
	}
	return ds
}

// dnsPods lists the pods verified pod records may answer for: those with
// addresses that have not ended, as CoreDNS's pod index holds them.
func dnsPods(pods []Pod) []dnsname.Pod {
	var out []dnsname.Pod
	for i := range pods {
		p := &pods[i]
		if ips := p.IPs(); len(ips) > 0 && p.Status.Phase != "Succeeded" && p.Status.Phase != "Failed" {
			out = append(out, dnsname.Pod{Namespace: p.Metadata.Namespace, Name: p.Metadata.Name, Addrs: ips})
		}
	}
	return out
}

// dnsProtocol converts a protocol name that validation accepted. A name it
// let through becomes a value outside dnsname's constants, which the
// catalog refuses with an error naming the port, rather than being served
// as TCP.
func dnsProtocol(s string) dnsname.Protocol {
	p, err := dnsname.ParseProtocol(s)
	if err != nil {
		return dnsname.SCTP + 1
	}
	return p
}
