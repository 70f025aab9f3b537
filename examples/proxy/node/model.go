package node

import (
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/svcnet/svcnet/endpoints"
)

// ServiceView is one service as the node programs it: manifests, their
// allocations and their endpoints, resolved. Values are immutable once a
// sync hands them out.
type ServiceView struct {
	Namespace, Name string
	Type            string // ClusterIP, NodePort, LoadBalancer or ExternalName
	ClusterIPs      []netip.Addr
	Headless        bool
	ExternalName    string
	Ports           []PortView
	LoadBalancerIPs []netip.Addr
	// SourceRanges are the clients allowed to reach LoadBalancerIPs; empty
	// allows all.
	SourceRanges []netip.Prefix
	ExternalIPs  []netip.Addr
	// AffinityTimeout is the ClientIP affinity timeout; zero means no
	// affinity.
	AffinityTimeout     time.Duration
	ExternalLocal       bool // externalTrafficPolicy: Local
	InternalLocal       bool // internalTrafficPolicy: Local
	HealthCheckNodePort uint16
	PublishNotReady     bool
	// Groups are the service's endpoints as the endpoints package groups
	// them: by family and exact port set.
	Groups []endpoints.Group
}

// Key is "namespace/name".
func (s *ServiceView) Key() string { return s.Namespace + "/" + s.Name }

// PortView is one service port.
type PortView struct {
	Name     string
	Protocol string
	Port     uint16
	NodePort uint16 // zero for ClusterIP services
}

// Backend is one endpoint of one service port.
type Backend struct {
	Addr                          netip.AddrPort
	Ready, Serving, Terminating   bool
	Node, Zone, Hostname, PodName string
}

// Backends lists the endpoints of port p in family fam (4 or 6), sorted
// by address.
func (s *ServiceView) Backends(p PortView, fam int) []Backend {
	var out []Backend
	for _, g := range s.Groups {
		if int(g.Family) != fam {
			continue
		}
		for _, gp := range g.Ports {
			if gp.Name != p.Name || gp.Protocol.String() != p.Protocol {
				continue
			}
			for _, ep := range g.Endpoints {
				out = append(out, Backend{
					Addr:  netip.AddrPortFrom(ep.Address, gp.Port),
					Ready: ep.Conditions.Ready, Serving: ep.Conditions.Serving, Terminating: ep.Conditions.Terminating,
					Node: ep.NodeName, Zone: ep.Zone, Hostname: ep.Hostname, PodName: ep.TargetRef.Name,
				})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Addr().Less(out[j].Addr.Addr()) })
	return out
}

// defaultAffinityTimeout is Kubernetes' default ClientIP timeout, 3 hours.
const defaultAffinityTimeout = 10800 * time.Second

// view resolves s with its assignment and endpoint groups.
func view(s *Service, as Assignment, groups []endpoints.Group) ServiceView {
	v := ServiceView{
		Namespace: s.Metadata.Namespace, Name: s.Metadata.Name, Type: s.Spec.Type,
		Headless:            s.Spec.ClusterIP == "None" || len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIPs[0] == "None",
		ExternalName:        strings.TrimSuffix(s.Spec.ExternalName, "."),
		ExternalLocal:       s.Spec.ExternalTrafficPolicy == "Local",
		InternalLocal:       s.Spec.InternalTrafficPolicy == "Local",
		PublishNotReady:     s.Spec.PublishNotReadyAddresses,
		HealthCheckNodePort: as.HealthCheckNodePort,
		Groups:              groups,
	}
	for _, x := range as.ClusterIPs {
		if ip, err := netip.ParseAddr(x); err == nil {
			v.ClusterIPs = append(v.ClusterIPs, ip)
		}
	}
	if ip, err := netip.ParseAddr(as.LoadBalancerIP); err == nil {
		v.LoadBalancerIPs = append(v.LoadBalancerIPs, ip)
	}
	for _, x := range s.Spec.LoadBalancerSourceRanges {
		if p, err := netip.ParsePrefix(strings.TrimSpace(x)); err == nil {
			v.SourceRanges = append(v.SourceRanges, p.Masked())
		}
	}
	for _, x := range s.Spec.ExternalIPs {
		if ip, err := netip.ParseAddr(x); err == nil {
			v.ExternalIPs = append(v.ExternalIPs, ip)
		}
	}
	if s.Spec.SessionAffinity == "ClientIP" {
		v.AffinityTimeout = defaultAffinityTimeout
		if c := s.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			v.AffinityTimeout = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		v.Ports = append(v.Ports, PortView{Name: p.Name, Protocol: p.Protocol, Port: uint16(p.Port), NodePort: as.NodePorts[portKey(p)]})
	}
	return v
}

// toEndpointsService maps a manifest Service to the endpoints package's input.
func toEndpointsService(s *Service, as Assignment) endpoints.Service {
	es := endpoints.Service{
		Namespace: s.Metadata.Namespace, Name: s.Metadata.Name,
		Selector:                 s.Spec.Selector,
		PublishNotReadyAddresses: s.Spec.PublishNotReadyAddresses,
	}
	for _, x := range as.ClusterIPs {
		if ip, err := netip.ParseAddr(x); err == nil {
			es.Families = append(es.Families, endpoints.IPFamilyOf(ip))
		}
	}
	if len(es.Families) == 0 { // headless: the families it asks for
		for _, f := range s.Spec.IPFamilies {
			fam, _ := endpoints.ParseIPFamily(f) // validated: IPv4 or IPv6
			es.Families = append(es.Families, fam)
		}
	}
	if len(es.Families) == 0 {
		es.Families = []endpoints.IPFamily{endpoints.IPv4}
	}
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		es.Ports = append(es.Ports, endpoints.ServicePort{
			Name: p.Name, Protocol: protocol(p.Protocol), Port: uint16(p.Port),
			TargetPort:  endpoints.TargetPort{Number: uint16(p.TargetPort.Int), Name: p.TargetPort.Str},
			AppProtocol: p.AppProtocol,
		})
	}
	return es
}

// toWorkload maps a manifest Pod, with its node's zone, to a workload.
func toWorkload(p *Pod, zones map[string]string) endpoints.Workload {
	w := endpoints.Workload{
		Namespace: p.Metadata.Namespace, Name: p.Metadata.Name, Labels: p.Metadata.Labels,
		IPs: p.IPs(), Node: p.Spec.NodeName, Zone: zones[p.Spec.NodeName],
		Hostname: p.Spec.Hostname, Subdomain: p.Spec.Subdomain,
		Phase: endpoints.Phase(p.Status.Phase), Ready: p.Ready(), Deleting: p.DeletionTimestamp != "",
	}
	add := func(cs []Container, sidecarsOnly bool) {
		for _, c := range cs {
			if sidecarsOnly && c.RestartPolicy != "Always" {
				continue
			}
			for _, cp := range c.Ports {
				w.Ports = append(w.Ports, endpoints.ContainerPort{Name: cp.Name, Protocol: protocol(cp.Protocol), Number: uint16(cp.ContainerPort)})
			}
		}
	}
	add(p.Spec.Containers, false)
	add(p.Spec.InitContainers, true)
	return w
}

// sliceGroups maps user-written EndpointSlices of a selectorless service
// to endpoint groups. FQDN slices carry no addresses to program and are
// left out, as kube-proxy does.
func sliceGroups(slices []*EndpointSlice) []endpoints.Group {
	var out []endpoints.Group
	for _, s := range slices {
		fam := endpoints.IPv4
		switch s.AddressType {
		case "IPv6":
			fam = endpoints.IPv6
		case "FQDN":
			continue
		}
		g := endpoints.Group{Family: fam}
		for _, p := range s.Ports {
			gp := endpoints.Port{Protocol: endpoints.TCP}
			if p.Name != nil {
				gp.Name = *p.Name
			}
			if p.Protocol != nil {
				gp.Protocol = protocol(*p.Protocol)
			}
			if p.Port != nil {
				gp.Port = uint16(*p.Port)
			}
			if p.AppProtocol != nil {
				gp.AppProtocol = *p.AppProtocol
			}
			g.Ports = append(g.Ports, gp)
		}
		for _, ep := range s.Endpoints {
			// Unset conditions mean ready and serving, per the EndpointSlice API.
			c := endpoints.Conditions{Ready: boolOr(ep.Conditions.Ready, true), Terminating: boolOr(ep.Conditions.Terminating, false)}
			c.Serving = boolOr(ep.Conditions.Serving, c.Ready)
			e := endpoints.Endpoint{Conditions: c, Hostname: strOr(ep.Hostname), NodeName: strOr(ep.NodeName), Zone: strOr(ep.Zone)}
			if ep.TargetRef != nil {
				e.TargetRef = endpoints.Ref{Namespace: ep.TargetRef.Namespace, Name: ep.TargetRef.Name}
			}
			// Kubernetes programs only the first address of an endpoint.
			if ip, err := netip.ParseAddr(ep.Addresses[0]); err == nil {
				e.Address = ip
				g.Endpoints = append(g.Endpoints, e)
			}
		}
		out = append(out, g)
	}
	return out
}

// protocol converts a protocol name that validate.go has accepted ("" is
// TCP).
func protocol(s string) endpoints.Protocol {
	p, _ := endpoints.ParseProtocol(s)
	return p
}

func boolOr(p *bool, d bool) bool {
	if p == nil {
		return d
	}
	return *p
}

func strOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
