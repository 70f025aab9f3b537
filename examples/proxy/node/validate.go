package node

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/svcnet/svcnet/dnsname"
)

func validateMeta(md *ObjectMeta, label bool) error {
	if md.Name == "" {
		return ferr("metadata.name", "required")
	}
	if md.Namespace == "" {
		md.Namespace = "default"
	}
	if dnsname.IsDNS1123Label(md.Namespace) != nil {
		return ferr("metadata.namespace", "%q is not a DNS-1123 label", md.Namespace)
	}
	if label && dnsname.IsDNS1035Label(md.Name) != nil {
		return ferr("metadata.name", "%q is not a DNS-1035 label (lowercase letters, digits, '-', starting with a letter, at most 63)", md.Name)
	}
	if !label && dnsname.IsDNS1123Subdomain(md.Name) != nil {
		return ferr("metadata.name", "%q is not a DNS-1123 subdomain", md.Name)
	}
	return nil
}

func validateService(s *Service) error {
	if err := validateMeta(&s.Metadata, true); err != nil {
		return err
	}
	sp := &s.Spec
	switch sp.Type {
	case "":
		sp.Type = "ClusterIP"
	case "ClusterIP", "NodePort", "LoadBalancer", "ExternalName":
	default:
		return ferr("spec.type", "unsupported value %q", sp.Type)
	}
	if sp.Type == "ExternalName" {
		if sp.ExternalName == "" || dnsname.IsDNS1123Subdomain(strings.TrimSuffix(sp.ExternalName, ".")) != nil {
			return ferr("spec.externalName", "%q is not a DNS name", sp.ExternalName)
		}
		return nil
	}
	if len(sp.Ports) == 0 && sp.ClusterIP != "None" {
		return ferr("spec.ports", "required unless clusterIP is None")
	}
	names := map[string]bool{}
	for i := range sp.Ports {
		p := &sp.Ports[i]
		f := fmt.Sprintf("spec.ports[%d]", i)
		if p.Port < 1 || p.Port > 65535 {
			return ferr(f+".port", "%d is not in 1-65535", p.Port)
		}
		switch p.Protocol {
		case "":
			p.Protocol = "TCP"
		case "TCP", "UDP", "SCTP":
		default:
			return ferr(f+".protocol", "unsupported value %q", p.Protocol)
		}
		if len(sp.Ports) > 1 && p.Name == "" {
			return ferr(f+".name", "required when the service has more than one port")
		}
		if p.Name != "" {
			if dnsname.IsDNS1123Label(p.Name) != nil {
				return ferr(f+".name", "%q is not a DNS-1123 label", p.Name)
			}
			if names[p.Name] {
				return ferr(f+".name", "duplicate %q", p.Name)
			}
			names[p.Name] = true
		}
		if p.TargetPort.Str == "" && (p.TargetPort.Int < 0 || p.TargetPort.Int > 65535) {
			return ferr(f+".targetPort", "%d is not in 1-65535", p.TargetPort.Int)
		}
		if p.NodePort < 0 || p.NodePort > 65535 {
			return ferr(f+".nodePort", "%d is not in 1-65535", p.NodePort)
		}
		if p.NodePort != 0 && sp.Type == "ClusterIP" {
			return ferr(f+".nodePort", "may not be set for type ClusterIP")
		}
	}
	if sp.ClusterIP != "" && sp.ClusterIP != "None" {
		if _, err := netip.ParseAddr(sp.ClusterIP); err != nil {
			return ferr("spec.clusterIP", "%q is not an IP address", sp.ClusterIP)
		}
	}
	for i, ip := range sp.ClusterIPs {
		if ip == "None" && i == 0 {
			continue
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			return ferr(fmt.Sprintf("spec.clusterIPs[%d]", i), "%q is not an IP address", ip)
		}
	}
	if sp.ClusterIP != "" && len(sp.ClusterIPs) > 0 && sp.ClusterIPs[0] != sp.ClusterIP {
		return ferr("spec.clusterIPs[0]", "%q must equal spec.clusterIP %q", sp.ClusterIPs[0], sp.ClusterIP)
	}
	if sp.ClusterIP == "None" && (sp.Type == "NodePort" || sp.Type == "LoadBalancer") {
		return ferr("spec.clusterIP", "None is only valid for type ClusterIP")
	}
	for i, f := range sp.IPFamilies {
		if f != "IPv4" && f != "IPv6" {
			return ferr(fmt.Sprintf("spec.ipFamilies[%d]", i), "unsupported value %q", f)
		}
	}
	switch sp.IPFamilyPolicy {
	case "", "SingleStack", "PreferDualStack", "RequireDualStack":
	default:
		return ferr("spec.ipFamilyPolicy", "unsupported value %q", sp.IPFamilyPolicy)
	}
	for _, pol := range []struct{ f, v string }{{"spec.externalTrafficPolicy", sp.ExternalTrafficPolicy}, {"spec.internalTrafficPolicy", sp.InternalTrafficPolicy}} {
		switch pol.v {
		case "", "Cluster", "Local":
		default:
			return ferr(pol.f, "unsupported value %q", pol.v)
		}
	}
	switch sp.SessionAffinity {
	case "", "None", "ClientIP":
	default:
		return ferr("spec.sessionAffinity", "unsupported value %q", sp.SessionAffinity)
	}
	if c := sp.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
		if t := *c.ClientIP.TimeoutSeconds; t < 1 || t > 86400 {
			return ferr("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "%d is not in 1-86400", t)
		}
	}
	if sp.LoadBalancerIP != "" {
		if _, err := netip.ParseAddr(sp.LoadBalancerIP); err != nil {
			return ferr("spec.loadBalancerIP", "%q is not an IP address", sp.LoadBalancerIP)
		}
	}
	for i, ip := range sp.ExternalIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return ferr(fmt.Sprintf("spec.externalIPs[%d]", i), "%q is not an IP address", ip)
		}
	}
	for i, r := range sp.LoadBalancerSourceRanges {
		if _, err := netip.ParsePrefix(strings.TrimSpace(r)); err != nil {
			return ferr(fmt.Sprintf("spec.loadBalancerSourceRanges[%d]", i), "%q is not a CIDR", r)
		}
	}
	return nil
}

func validatePod(p *Pod) error {
	if err := validateMeta(&p.Metadata, false); err != nil {
		return err
	}
	if p.Status.PodIP != "" {
		if _, err := netip.ParseAddr(p.Status.PodIP); err != nil {
			return ferr("status.podIP", "%q is not an IP address", p.Status.PodIP)
		}
	}
	for i, ip := range p.Status.PodIPs {
		if _, err := netip.ParseAddr(ip.IP); err != nil {
			return ferr(fmt.Sprintf("status.podIPs[%d].ip", i), "%q is not an IP address", ip.IP)
		}
	}
	if len(p.Status.PodIPs) > 0 && p.Status.PodIP != "" && p.Status.PodIPs[0].IP != p.Status.PodIP {
		return ferr("status.podIPs[0].ip", "%q must equal status.podIP %q", p.Status.PodIPs[0].IP, p.Status.PodIP)
	}
	if h := p.Spec.Hostname; h != "" && dnsname.IsDNS1123Label(h) != nil {
		return ferr("spec.hostname", "%q is not a DNS-1123 label", h)
	}
	if s := p.Spec.Subdomain; s != "" && dnsname.IsDNS1123Label(s) != nil {
		return ferr("spec.subdomain", "%q is not a DNS-1123 label", s)
	}
	for ci, c := range append(append([]Container(nil), p.Spec.Containers...), p.Spec.InitContainers...) {
		for pi, cp := range c.Ports {
			f := fmt.Sprintf("spec.containers[%d].ports[%d]", ci, pi)
			if ci >= len(p.Spec.Containers) {
				f = fmt.Sprintf("spec.initContainers[%d].ports[%d]", ci-len(p.Spec.Containers), pi)
			}
			if cp.ContainerPort < 1 || cp.ContainerPort > 65535 {
				return ferr(f+".containerPort", "%d is not in 1-65535", cp.ContainerPort)
			}
			switch cp.Protocol {
			case "", "TCP", "UDP", "SCTP":
			default:
				return ferr(f+".protocol", "unsupported value %q", cp.Protocol)
			}
		}
	}
	return nil
}

func validateSlice(s *EndpointSlice) error {
	if err := validateMeta(&s.Metadata, false); err != nil {
		return err
	}
	if s.ServiceName() == "" {
		return ferr("metadata.labels", "%s is required", LabelServiceName)
	}
	switch s.AddressType {
	case "IPv4", "IPv6", "FQDN":
	default:
		return ferr("addressType", "unsupported value %q (want IPv4, IPv6 or FQDN)", s.AddressType)
	}
	for i, ep := range s.Endpoints {
		if len(ep.Addresses) == 0 {
			return ferr(fmt.Sprintf("endpoints[%d].addresses", i), "required")
		}
		for j, a := range ep.Addresses {
			f := fmt.Sprintf("endpoints[%d].addresses[%d]", i, j)
			if s.AddressType == "FQDN" {
				if dnsname.IsDNS1123Subdomain(a) != nil {
					return ferr(f, "%q is not a DNS name", a)
				}
				continue
			}
			ip, err := netip.ParseAddr(a)
			if err != nil || (s.AddressType == "IPv4") != ip.Is4() {
				return ferr(f, "%q is not an %s address", a, s.AddressType)
			}
		}
	}
	for i, p := range s.Ports {
		f := fmt.Sprintf("ports[%d]", i)
		if p.Port != nil && (*p.Port < 1 || *p.Port > 65535) {
			return ferr(f+".port", "%d is not in 1-65535", *p.Port)
		}
		if p.Protocol != nil {
			switch *p.Protocol {
			case "TCP", "UDP", "SCTP":
			default:
				return ferr(f+".protocol", "unsupported value %q", *p.Protocol)
			}
		}
	}
	return nil
}

func validateNode(n *Node) error {
	if n.Metadata.Name == "" {
		return ferr("metadata.name", "required")
	}
	for i, a := range n.Status.Addresses {
		if a.Type != "InternalIP" && a.Type != "ExternalIP" {
			continue
		}
		if _, err := netip.ParseAddr(a.Address); err != nil {
			return ferr(fmt.Sprintf("status.addresses[%d].address", i), "%q is not an IP address", a.Address)
		}
	}
	return nil
}
