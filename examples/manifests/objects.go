package manifests

import (
	"fmt"
	"github.com/svcnet/svcnet/endpoints"

	"github.com/svcnet/svcnet/dnsname"
)

// toPod checks a Pod and types it.
func toPod(r *rawPod, src Source) (*Pod, *fieldError) {
	p := &Pod{Source: src, Node: r.Spec.NodeName, Hostname: r.Spec.Hostname, Subdomain: r.Spec.Subdomain,
		Phase: r.Status.Phase, Deleting: r.Metadata.DeletionTimestamp != nil}
	var err *fieldError
	if p.Meta, err = toMeta(&r.Metadata, false); err != nil {
		return nil, err
	}
	if h := p.Hostname; h != "" && dnsname.IsDNS1123Label(h) != nil {
		return nil, invalid("spec.hostname", "%q is not a DNS-1123 label", h)
	}
	if s := p.Subdomain; s != "" && dnsname.IsDNS1123Label(s) != nil {
		return nil, invalid("spec.subdomain", "%q is not a DNS-1123 label", s)
	}
	ips := make([]string, 0, len(r.Status.PodIPs))
	for _, ip := range r.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	field := "status.podIPs"
	if len(ips) == 0 && r.Status.PodIP != "" {
		ips, field = []string{r.Status.PodIP}, "status.podIP"
	} else if len(ips) > 0 && r.Status.PodIP != "" && ips[0] != r.Status.PodIP {
		return nil, invalid("status.podIPs[0].ip", "%q must equal status.podIP %q", ips[0], r.Status.PodIP)
	}
	if p.IPs, err = parseAddrs(field, ips); err != nil {
		if field == "status.podIP" {
			err.field = field
		} else {
			err.field += ".ip"
		}
		return nil, err
	}
	if len(p.IPs) == 2 && p.IPs[0].Is4() == p.IPs[1].Is4() || len(p.IPs) > 2 {
		return nil, invalid(field, "at most one address per family")
	}
	for _, c := range r.Status.Conditions {
		if c.Type == "Ready" {
			p.Ready = c.Status == "True"
		}
	}
	if err := p.addPorts("spec.containers", r.Spec.Containers, false); err != nil {
		return nil, err
	}
	if err := p.addPorts("spec.initContainers", r.Spec.InitContainers, true); err != nil {
		return nil, err
	}
	return p, nil
}

// addPorts adds the container ports of cs; with sidecarsOnly, only those of
// restartable init containers, which run beside the app and may serve.
func (p *Pod) addPorts(field string, cs []rawContainer, sidecarsOnly bool) *fieldError {
	for ci, c := range cs {
		for pi, cp := range c.Ports {
			f := fmt.Sprintf("%s[%d].ports[%d]", field, ci, pi)
			n, err := checkPort(f+".containerPort", cp.ContainerPort, false)
			if err != nil {
				return err
			}
			proto, err := parseProtocol(f+".protocol", cp.Protocol)
			if err != nil {
				return err
			}
			if cp.Name != "" && dnsname.IsPortName(cp.Name) != nil {
				return invalid(f+".name", "%q is not an IANA service name", cp.Name)
			}
			if !sidecarsOnly || c.RestartPolicy == "Always" {
				p.Ports = append(p.Ports, ContainerPort{Name: cp.Name, Protocol: proto, Number: n})
			}
		}
	}
	return nil
}

// toSlice checks an EndpointSlice and types it. Unlike the API, a port
// without a number is refused: the dataplane cannot program it.
func toSlice(r *rawSlice, src Source) (*EndpointSlice, *fieldError) {
	s := &EndpointSlice{Source: src}
	var err *fieldError
	if s.Meta, err = toMeta(&r.Metadata, false); err != nil {
		return nil, err
	}
	if s.Service = s.Labels[LabelServiceName]; s.Service == "" {
		return nil, invalid("metadata.labels", "%s is required", LabelServiceName)
	}
	switch r.AddressType {
	case "IPv4", "IPv6":
		s.Family, _ = endpoints.ParseIPFamily(r.AddressType)
	case "FQDN":
	default:
		return nil, invalid("addressType", "unsupported value %q (want IPv4, IPv6 or FQDN)", r.AddressType)
	}
	for i := range r.Endpoints {
		ep, err := s.endpoint(fmt.Sprintf("endpoints[%d]", i), &r.Endpoints[i])
		if err != nil {
			return nil, err
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	for i, rp := range r.Ports {
		f := fmt.Sprintf("ports[%d]", i)
		if rp.Port == nil {
			return nil, invalid(f+".port", "required: the dataplane cannot program a port without a number")
		}
		p := SlicePort{Name: rp.Name, AppProtocol: rp.AppProtocol}
		if p.Port, err = checkPort(f+".port", *rp.Port, false); err != nil {
			return nil, err
		}
		if p.Protocol, err = parseProtocol(f+".protocol", rp.Protocol); err != nil {
			return nil, err
		}
		for j, q := range s.Ports {
			if q.Name == p.Name && q.Protocol == p.Protocol {
				return nil, invalid(f+".name", "%q/%s is also ports[%d]", p.Name, p.Protocol, j)
			}
		}
		s.Ports = append(s.Ports, p)
	}
	return s, nil
}

// endpoint checks one slice endpoint. Conditions left out take the API's
// defaults: ready and serving unless set, not terminating.
func (s *EndpointSlice) endpoint(f string, r *rawEndpoint) (Endpoint, *fieldError) {
	ep := Endpoint{Hostname: r.Hostname, Node: r.NodeName, Zone: r.Zone}
	if r.TargetRef != nil {
		ep.TargetRef = *r.TargetRef
	}
	ep.Ready = r.Conditions.Ready == nil || *r.Conditions.Ready
	ep.Serving = ep.Ready
	if r.Conditions.Serving != nil {
		ep.Serving = *r.Conditions.Serving
	}
	ep.Terminating = r.Conditions.Terminating != nil && *r.Conditions.Terminating
	if len(r.Addresses) == 0 {
		return ep, invalid(f+".addresses", "required")
	}
	if ep.Hostname != "" && dnsname.IsDNS1123Label(ep.Hostname) != nil {
		return ep, invalid(f+".hostname", "%q is not a DNS-1123 label", ep.Hostname)
	}
	if s.Family == 0 {
		if len(r.Addresses) != 1 || dnsname.IsDNS1123Subdomain(r.Addresses[0]) != nil {
			return ep, invalid(f+".addresses", "want one DNS name in an FQDN slice, have %q", r.Addresses)
		}
		ep.FQDN = r.Addresses[0]
		return ep, nil
	}
	var err *fieldError
	if ep.Addresses, err = parseAddrs(f+".addresses", r.Addresses); err != nil {
		return ep, err
	}
	for j, a := range ep.Addresses {
		if endpoints.IPFamilyOf(a) != s.Family {
			return ep, invalid(fmt.Sprintf("%s.addresses[%d]", f, j), "%s is not an %s address", a, s.Family)
		}
	}
	return ep, nil
}

// toNode checks a Node and types it: its zone label and its InternalIP and
// ExternalIP addresses.
func toNode(r *rawNode, src Source) (*Node, *fieldError) {
	n := &Node{Source: src}
	var err *fieldError
	if n.Meta, err = toMeta(&r.Metadata, false); err != nil {
		return nil, err
	}
	n.Namespace = "" // nodes are cluster-scoped
	n.Zone = n.Labels[LabelZone]
	for i, a := range r.Status.Addresses {
		if a.Type != "InternalIP" && a.Type != "ExternalIP" {
			continue
		}
		ip, err := parseAddr(fmt.Sprintf("status.addresses[%d].address", i), a.Address)
		if err != nil {
			return nil, err
		}
		n.Addresses = append(n.Addresses, ip)
	}
	return n, nil
}
