package manifests

import (
	"fmt"
	"github.com/svcnet/svcnet/endpoints"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/svcnet/svcnet/dnsname"
)

// defaultAffinityTimeout is Kubernetes' default ClientIP timeout, 3 hours.
const defaultAffinityTimeout = 10800 * time.Second

// toService checks a Service and types it. Each step owns a group of
// fields; the first failure is reported.
func toService(r *rawService, src Source, cfg *Config) (*Service, *fieldError) {
	s := &Service{Source: src}
	var err *fieldError
	if s.Meta, err = toMeta(&r.Metadata, true); err != nil {
		return nil, err
	}
	steps := []func(*Service, *rawService, *Config) *fieldError{
		serviceType, servicePorts, serviceClusterIPs, serviceFamilies,
		serviceLoadBalancer, serviceExternal, servicePolicies,
	}
	for _, step := range steps {
		if err := step(s, r, cfg); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func serviceType(s *Service, r *rawService, _ *Config) *fieldError {
	switch r.Spec.Type {
	case "", "ClusterIP":
		s.Type = ClusterIP
	case "NodePort":
		s.Type = NodePort
	case "LoadBalancer":
		s.Type = LoadBalancer
	case "ExternalName":
		s.Type = ExternalName
		s.ExternalName = strings.TrimSuffix(r.Spec.ExternalName, ".")
		if s.ExternalName == "" || dnsname.IsDNS1123Subdomain(s.ExternalName) != nil {
			return invalid("spec.externalName", "%q is not a DNS name", r.Spec.ExternalName)
		}
	default:
		return invalid("spec.type", "unsupported value %q (want ClusterIP, NodePort, LoadBalancer or ExternalName)", r.Spec.Type)
	}
	if err := checkLabels("spec.selector", r.Spec.Selector); err != nil {
		return err
	}
	if len(r.Spec.Selector) > 0 {
		s.Selector = r.Spec.Selector
	}
	return nil
}

// servicePorts checks spec.ports: Kubernetes' rules (names required and
// unique when there is more than one port, DNS-1123 labels) and what the
// dataplane refuses (two ports on one port number and protocol, two on
// one node port and protocol).
func servicePorts(s *Service, r *rawService, _ *Config) *fieldError {
	headless := r.Spec.ClusterIP == "None" || len(r.Spec.ClusterIPs) > 0 && r.Spec.ClusterIPs[0] == "None"
	if len(r.Spec.Ports) == 0 && !headless && s.Type != ExternalName {
		return invalid("spec.ports", "required unless clusterIP is None")
	}
	s.Ports = make([]ServicePort, 0, len(r.Spec.Ports))
	for i := range r.Spec.Ports {
		f := fmt.Sprintf("spec.ports[%d]", i)
		p, err := servicePort(f, &r.Spec.Ports[i], len(r.Spec.Ports) > 1, s.Type)
		if err != nil {
			return err
		}
		for j, q := range s.Ports {
			switch {
			case p.Name == q.Name:
				return invalid(f+".name", "%q is also spec.ports[%d]'s name", p.Name, j)
			case p.Port == q.Port && p.Protocol == q.Protocol:
				return invalid(f+".port", "%d/%s is also spec.ports[%d]", p.Port, p.Protocol, j)
			case p.NodePort != 0 && p.NodePort == q.NodePort && p.Protocol == q.Protocol:
				return invalid(f+".nodePort", "%d/%s is also spec.ports[%d]'s", p.NodePort, p.Protocol, j)
			}
		}
		s.Ports = append(s.Ports, p)
	}
	return nil
}

func servicePort(f string, rp *rawServicePort, multi bool, t ServiceType) (ServicePort, *fieldError) {
	p := ServicePort{Name: rp.Name, AppProtocol: rp.AppProtocol}
	var err *fieldError
	if p.Port, err = checkPort(f+".port", rp.Port, false); err != nil {
		return p, err
	}
	if p.Protocol, err = parseProtocol(f+".protocol", rp.Protocol); err != nil {
		return p, err
	}
	switch {
	case multi && p.Name == "":
		return p, invalid(f+".name", "required when the service has more than one port")
	case p.Name != "" && dnsname.IsDNS1123Label(p.Name) != nil:
		return p, invalid(f+".name", "%q is not a DNS-1123 label", p.Name)
	}
	if rp.TargetPort.Str != "" {
		if dnsname.IsPortName(rp.TargetPort.Str) != nil {
			return p, invalid(f+".targetPort", "%q is not a port number or an IANA service name", rp.TargetPort.Str)
		}
		p.TargetPort.Name = rp.TargetPort.Str
	} else if p.TargetPort.Number, err = checkPort(f+".targetPort", rp.TargetPort.Int, true); err != nil {
		return p, err
	}
	if p.NodePort, err = checkPort(f+".nodePort", rp.NodePort, true); err != nil {
		return p, err
	}
	if p.NodePort != 0 && t != NodePort && t != LoadBalancer {
		return p, invalid(f+".nodePort", "may only be set for type NodePort or LoadBalancer")
	}
	return p, nil
}

// serviceClusterIPs reads spec.clusterIP and spec.clusterIPs: "None" makes
// the service headless; otherwise at most one address per family, the
// first equal to spec.clusterIP.
func serviceClusterIPs(s *Service, r *rawService, _ *Config) *fieldError {
	list := r.Spec.ClusterIPs
	if len(list) == 0 && r.Spec.ClusterIP != "" {
		list = []string{r.Spec.ClusterIP}
	}
	if r.Spec.ClusterIP != "" && len(r.Spec.ClusterIPs) > 0 && r.Spec.ClusterIPs[0] != r.Spec.ClusterIP {
		return invalid("spec.clusterIPs[0]", "%q must equal spec.clusterIP %q", r.Spec.ClusterIPs[0], r.Spec.ClusterIP)
	}
	field := "spec.clusterIPs"
	if len(r.Spec.ClusterIPs) == 0 {
		field = "spec.clusterIP"
	}
	if len(list) > 0 && list[0] == "None" {
		if len(list) > 1 {
			return invalid(field, "None must be the only entry")
		}
		if s.Type == NodePort || s.Type == LoadBalancer {
			return invalid(field, "None is only valid for type ClusterIP")
		}
		s.Headless = true
		return nil
	}
	if s.Type == ExternalName {
		return nil // Kubernetes ignores (and clears) them; so do we
	}
	ips, err := parseAddrs(field, list)
	if err != nil {
		if len(r.Spec.ClusterIPs) == 0 {
			err.field = "spec.clusterIP"
		}
		return err
	}
	if len(ips) > 2 || len(ips) == 2 && ips[0].Is4() == ips[1].Is4() {
		return invalid(field, "at most one address per family")
	}
	s.ClusterIPs = ips
	return nil
}

// serviceFamilies reads spec.ipFamilies and spec.ipFamilyPolicy and checks
// them against the requested ClusterIPs.
func serviceFamilies(s *Service, r *rawService, _ *Config) *fieldError {
	for i, v := range r.Spec.IPFamilies {
		f := fmt.Sprintf("spec.ipFamilies[%d]", i)
		fam, err := endpoints.ParseIPFamily(v)
		if err != nil {
			return &fieldError{field: f, err: reasonf(ErrInvalid, "%v", err)}
		}
		if i > 0 && fam == s.IPFamilies[0] || i > 1 {
			return invalid(f, "at most one of each family")
		}
		if i < len(s.ClusterIPs) && endpoints.IPFamilyOf(s.ClusterIPs[i]) != fam {
			return invalid(f, "%s does not match spec.clusterIPs[%d] %s", fam, i, s.ClusterIPs[i])
		}
		s.IPFamilies = append(s.IPFamilies, fam)
	}
	switch r.Spec.IPFamilyPolicy {
	case "", "SingleStack":
		s.IPFamilyPolicy = SingleStack
		if r.Spec.IPFamilyPolicy == "" && (len(s.IPFamilies) > 1 || len(s.ClusterIPs) > 1) {
			s.IPFamilyPolicy = RequireDualStack // as Kubernetes defaults it
		}
	case "PreferDualStack":
		s.IPFamilyPolicy = PreferDualStack
	case "RequireDualStack":
		s.IPFamilyPolicy = RequireDualStack
	default:
		return invalid("spec.ipFamilyPolicy", "unsupported value %q", r.Spec.IPFamilyPolicy)
	}
	if s.IPFamilyPolicy == SingleStack && (len(s.IPFamilies) > 1 || len(s.ClusterIPs) > 1) {
		return invalid("spec.ipFamilyPolicy", "SingleStack with two families")
	}
	return nil
}

// serviceExternal reads spec.externalIPs: unicast, unique, and inside
// Config.ExternalIPCIDRs.
func serviceExternal(s *Service, r *rawService, cfg *Config) *fieldError {
	ips, err := parseAddrs("spec.externalIPs", r.Spec.ExternalIPs)
	if err != nil {
		return err
	}
	for i, a := range ips {
		f := fmt.Sprintf("spec.externalIPs[%d]", i)
		if slices.Contains(s.ClusterIPs, a) || slices.Contains(s.LoadBalancerIPs, a) || slices.Contains(s.LoadBalancerIngress, a) {
			return &fieldError{field: f, err: reasonf(ErrConflict, "%s is also this service's ClusterIP or LoadBalancer address", a)}
		}
		if !cfg.externalIPAllowed(a) {
			why := "no externalIP ranges are configured"
			if len(cfg.ExternalIPCIDRs) > 0 {
				why = fmt.Sprintf("not inside %v", cfg.ExternalIPCIDRs)
			}
			return &fieldError{field: f,
				err: reasonf(ErrExternalIPNotAllowed, "%s refused: %s (CVE-2020-8554)", a, why)}
		}
	}
	s.ExternalIPs = ips
	return nil
}

// serviceLoadBalancer reads the requested LoadBalancer addresses (MetalLB's
// annotation, else spec.loadBalancerIP), status.loadBalancer.ingress and
// spec.loadBalancerSourceRanges.
func serviceLoadBalancer(s *Service, r *rawService, _ *Config) *fieldError {
	var err *fieldError
	if v, ok := s.Annotations[AnnotationLBIPs]; ok {
		f := "metadata.annotations[" + AnnotationLBIPs + "]"
		if s.LoadBalancerIPs, err = parseAddrs(f, strings.Split(v, ",")); err != nil {
			err.field = f
			return err
		}
	} else if r.Spec.LoadBalancerIP != "" {
		if s.LoadBalancerIPs, err = parseAddrs("spec.loadBalancerIP", []string{r.Spec.LoadBalancerIP}); err != nil {
			err.field = "spec.loadBalancerIP"
			return err
		}
	}
	for i, in := range r.Status.LoadBalancer.Ingress {
		if in.IP == "" {
			continue // a hostname-only ingress
		}
		a, err := parseAddr(fmt.Sprintf("status.loadBalancer.ingress[%d].ip", i), in.IP)
		if err != nil {
			return err
		}
		s.LoadBalancerIngress = append(s.LoadBalancerIngress, a)
	}
	for i, v := range r.Spec.LoadBalancerSourceRanges {
		p, perr := netip.ParsePrefix(strings.TrimSpace(v))
		if perr != nil {
			return invalid(fmt.Sprintf("spec.loadBalancerSourceRanges[%d]", i), "%q is not a CIDR", v)
		}
		s.SourceRanges = append(s.SourceRanges, p.Masked())
	}
	return nil
}

// servicePolicies reads traffic policies, session affinity, the health
// check node port and the remaining flags.
func servicePolicies(s *Service, r *rawService, _ *Config) *fieldError {
	var err error
	if s.ExternalTrafficPolicy, err = endpoints.ParseTrafficPolicy(r.Spec.ExternalTrafficPolicy); err != nil {
		return &fieldError{field: "spec.externalTrafficPolicy", err: reasonf(ErrInvalid, "%v", err)}
	}
	if s.InternalTrafficPolicy, err = endpoints.ParseTrafficPolicy(r.Spec.InternalTrafficPolicy); err != nil {
		return &fieldError{field: "spec.internalTrafficPolicy", err: reasonf(ErrInvalid, "%v", err)}
	}
	switch r.Spec.SessionAffinity {
	case "", "None":
	case "ClientIP":
		s.AffinityTimeout = defaultAffinityTimeout
		if c := r.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			t := *c.ClientIP.TimeoutSeconds
			if t < 1 || t > 86400 {
				return invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "%d is not in 1-86400", t)
			}
			s.AffinityTimeout = time.Duration(t) * time.Second
		}
	default:
		return invalid("spec.sessionAffinity", "unsupported value %q (want None or ClientIP)", r.Spec.SessionAffinity)
	}
	var ferr *fieldError
	if s.HealthCheckNodePort, ferr = checkPort("spec.healthCheckNodePort", r.Spec.HealthCheckNodePort, true); ferr != nil {
		return ferr
	}
	switch r.Spec.TrafficDistribution {
	case "", "PreferClose", "PreferSameZone", "PreferSameNode":
		s.TrafficDistribution = r.Spec.TrafficDistribution
	default:
		return invalid("spec.trafficDistribution", "unsupported value %q", r.Spec.TrafficDistribution)
	}
	s.PublishNotReadyAddresses = r.Spec.PublishNotReadyAddresses
	s.NoLoadBalancerNodePorts = r.Spec.AllocateLBNodePorts != nil && !*r.Spec.AllocateLBNodePorts
	return nil
}
