package node

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// recordTTL is the TTL of every answer; CoreDNS' kubernetes plugin uses 5.
const recordTTL = 5

// Records renders the cluster DNS records of services per the Kubernetes
// DNS specification (github.com/kubernetes/dns, docs/specification.md):
// A/AAAA and SRV for ClusterIP services, per-endpoint A/AAAA, hostnames
// and SRV for headless ones, CNAME for ExternalName, PTR for both.
func Records(zone string, services []ServiceView) []dns.RR {
	zone = strings.ToLower(dns.Fqdn(zone))
	var out []dns.RR
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: recordTTL}
	}
	addr := func(name string, ip netip.Addr) dns.RR {
		if ip.Is4() {
			return &dns.A{Hdr: hdr(name, dns.TypeA), A: ip.AsSlice()}
		}
		return &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA), AAAA: ip.AsSlice()}
	}
	ptr := func(ip netip.Addr, target string) dns.RR {
		rev, _ := dns.ReverseAddr(ip.String())
		return &dns.PTR{Hdr: hdr(rev, dns.TypePTR), Ptr: target}
	}
	srvName := func(p PortView, svc string) string {
		return "_" + p.Name + "._" + strings.ToLower(p.Protocol) + "." + svc
	}
	for i := range services {
		s := &services[i]
		svc := s.Name + "." + s.Namespace + ".svc." + zone
		switch {
		case s.Type == "ExternalName":
			out = append(out, &dns.CNAME{Hdr: hdr(svc, dns.TypeCNAME), Target: dns.Fqdn(s.ExternalName)})
		case !s.Headless:
			for _, ip := range s.ClusterIPs {
				out = append(out, addr(svc, ip), ptr(ip, svc))
			}
			for _, p := range s.Ports {
				if p.Name == "" {
					continue // SRV records exist only for named ports
				}
				out = append(out, &dns.SRV{Hdr: hdr(srvName(p, svc), dns.TypeSRV), Priority: 0, Weight: 100, Port: p.Port, Target: svc})
			}
		default:
			out = append(out, headlessRecords(s, svc, addr, ptr, hdr, srvName)...)
		}
	}
	return out
}

// headlessRecords gives every ready endpoint an A/AAAA under the
// service name and under its hostname (the pod's hostname when its
// subdomain is the service, else its address with dashes, as CoreDNS
// does), a PTR when it has a real hostname, and one SRV per named port.
func headlessRecords(s *ServiceView, svc string,
	addr func(string, netip.Addr) dns.RR, ptr func(netip.Addr, string) dns.RR,
	hdr func(string, uint16) dns.RR_Header, srvName func(PortView, string) string) []dns.RR {
	var out []dns.RR
	seen := map[netip.Addr]bool{}
	for _, g := range s.Groups {
		for _, ep := range g.Endpoints {
			if !ep.Conditions.Ready || seen[ep.Address] {
				continue
			}
			seen[ep.Address] = true
			host := ep.Hostname
			if host == "" {
				host = strings.NewReplacer(".", "-", ":", "-").Replace(ep.Address.String())
			} else {
				out = append(out, ptr(ep.Address, host+"."+svc))
			}
			out = append(out, addr(svc, ep.Address), addr(host+"."+svc, ep.Address))
			for _, p := range s.Ports {
				if p.Name == "" {
					continue
				}
				for _, gp := range g.Ports {
					if gp.Name == p.Name && string(gp.Protocol) == p.Protocol {
						out = append(out, &dns.SRV{Hdr: hdr(srvName(p, svc), dns.TypeSRV), Priority: 0, Weight: 100, Port: gp.Port, Target: host + "." + svc})
					}
				}
			}
		}
	}
	return out
}
